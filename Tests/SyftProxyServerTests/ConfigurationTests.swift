import Foundation
import SyftProxyCore
import SyftProxyServer
import SyftProxyTestSupport
import Testing

/// Every setting is range-checked at start, with a message naming it; no accepted value can
/// overflow or trap later (a seconds value becomes milliseconds in Redis, nanoseconds in NIO).
@Suite struct ConfigurationTests {
    static let badValues: [(String, String)] = [
        ("PROXY_PORT", "65536"), ("PROXY_PORT", "-1"), ("PROXY_WORKERS", "0"), ("PROXY_WORKERS", "100000"),
        ("PROXY_MAX_REQUESTS", "0"), ("PROXY_MAX_REQUESTS", "99999999999999999999"),
        ("PROXY_TIMEOUT", "0"), ("PROXY_TIMEOUT", "-5"), ("PROXY_TIMEOUT", "nan"), ("PROXY_TIMEOUT", "inf"), ("PROXY_TIMEOUT", "86401"),
        ("PROXY_MAX_TIMEOUT", "1e16"), ("PROXY_MAX_TIMEOUT", "0"),
        ("PROXY_REQUEST_TTL", "1e16"), ("PROXY_REQUEST_TTL", "2592001"), ("PROXY_REQUEST_TTL", "0"), ("PROXY_REQUEST_TTL", "abc"),
        ("PROXY_RATE_LIMIT", "-1"), ("PROXY_RATE_LIMIT", "1e3"), ("PROXY_MAX_ATTEMPTS", "0"), ("PROXY_MAX_ATTEMPTS", "1001"),
        ("PROXY_MAX_PARAMS_BYTES", "1"), ("PROXY_MAX_BODY_BYTES", "99999999999"),
        ("PROXY_LEASE_SECONDS", "1e300"), ("PROXY_LEASE_SECONDS", "86401"), ("PROXY_LEASE_SECONDS", "0"),
        ("PROXY_PUSH_CONCURRENCY", "0"), ("PROXY_SYFTBOX_POLL_INTERVAL", "0"), ("PROXY_SYFTBOX_POLL_INTERVAL", "3600"),
        ("PROXY_IDLE_TIMEOUT", "0"), ("PROXY_IDLE_TIMEOUT", "1e16"), ("PROXY_BODY_TIMEOUT", "0.5"), ("PROXY_BODY_TIMEOUT", "1e10"),
        ("PROXY_TRUSTED_PROXIES", "10.0.0.0/33"), ("PROXY_TRUSTED_PROXIES", "10.0.0.0/8,not-a-network"), ("PROXY_TRUSTED_PROXIES", "::1/129"),
        ("PROXY_LOG_FORMAT", "xml"), ("PROXY_LOG_LEVEL", "loud"),
        ("PROXY_PUSH_ENDPOINT_CONCURRENCY", "0"), ("PROXY_PUSH_ENDPOINT_CONCURRENCY", "10001"),
        ("PROXY_PUSH_DENY_NETWORKS", "169.254.0.0/99"), ("PROXY_PUSH_ALLOW_NETWORKS", "example.com"),
        ("PROXY_REDIS_TLS_VERIFY_HOSTNAME", "maybe"), ("PROXY_REDIS_TLS_CA_FILE", "/ca.pem"),
        ("PROXY_REDIS_URL", "http://redis:6379"),
        ("PROXY_REDIS_SHARDS", "0"), ("PROXY_REDIS_SHARDS", "1025"), ("PROXY_REDIS_SHARDS", "sixteen"),
    ]

    @Test(arguments: badValues)
    func eachBadValueIsRefusedNamingTheVariable(name: String, value: String) {
        let error = #expect(throws: ConfigurationError.self) { _ = try ProxyConfiguration(environment: [name: value]) }
        #expect(error?.description.contains(name) == true, "\(error?.description ?? "accepted")")
    }

    /// The CLI's flags land in the same fields; `validate()` applies the same bounds to them
    /// and names both the variable and the flag.
    @Test func settingsGivenOtherwiseThanByEnvironmentPassTheSameChecks() throws {
        let cases: [(String, (inout ProxyConfiguration) -> Void)] = [
            ("--request-ttl", { $0.requestTTL = 1e16 }), ("--timeout", { $0.timeout = .infinity }), ("--timeout", { $0.timeout = .nan }),
            ("--max-timeout", { $0.maxTimeout = 1e12 }), ("--lease-seconds", { $0.leaseSeconds = 1e16 }), ("--lease-seconds", { $0.leaseSeconds = -1 }),
            ("--port", { $0.port = 70000 }), ("--workers", { $0.workers = 0 }), ("--max-requests", { $0.maxRequests = 0 }),
            ("--rate-limit", { $0.rateLimit = -1 }), ("--max-attempts", { $0.maxAttempts = 0 }), ("--max-params-bytes", { $0.maxParamsBytes = 0 }),
            ("--max-body-bytes", { $0.maxBodyBytesOverride = Int.max }), ("--push-concurrency", { $0.pushConcurrency = 0 }),
            ("--syftbox-poll-interval", { $0.syftBoxPollInterval = 1e16 }), ("--idle-timeout", { $0.idleTimeout = 1e16 }),
            ("--body-timeout", { $0.bodyTimeout = 0 }), ("--redis-shards", { $0.redisShards = 2048 }),
        ]
        for (flag, change) in cases {
            var configuration = ProxyConfiguration()
            change(&configuration)
            let error = #expect(throws: ConfigurationError.self, "\(flag)") { try configuration.validate() }
            #expect(error?.description.contains(flag) == true, "\(error?.description ?? "accepted")")
        }
        try ProxyConfiguration().validate()
    }

    @Test func largestAcceptedValuesStayClearOfOverflow() throws {
        let configuration = try ProxyConfiguration(environment: [
            "PROXY_TIMEOUT": "86400", "PROXY_MAX_TIMEOUT": "86400", "PROXY_REQUEST_TTL": "2592000", "PROXY_LEASE_SECONDS": "86400",
            "PROXY_IDLE_TIMEOUT": "86400", "PROXY_BODY_TIMEOUT": "86400", "PROXY_SYFTBOX_POLL_INTERVAL": "60",
            "PROXY_RATE_LIMIT": "100000000", "PROXY_TRUSTED_PROXIES": "10.0.0.0/8, 192.168.1.7 ,::1/128",
            "PROXY_REDIS_SHARDS": "1024",
        ])
        #expect(configuration.redisShards == 1024)
        #expect(ProxyConfiguration().redisShards == 16)
        // Milliseconds (Redis PEXPIRE, HTTP client timeouts) and nanoseconds (NIO) of the largest values fit.
        for seconds in [configuration.requestTTL, configuration.maxTimeout, configuration.leaseSeconds, configuration.idleTimeout, configuration.bodyTimeout] {
            #expect(seconds * 1_000_000_000 < Double(Int64.max))
        }
        #expect(configuration.trustedProxies.map(\.description) == ["10.0.0.0/8", "192.168.1.7/32", "::1/128"])
    }

    /// PROXY_REQUEST_TTL=1e16 used to be accepted and crash the replica on its first send;
    /// a real `syft-proxy serve` now refuses it at start, by variable and by flag.
    @Test func aHugeTTLStopsARealServerAtStartNamingIt() async throws {
        for (arguments, environment, name) in [
            ([String](), ["PROXY_REQUEST_TTL": "1e16"], "PROXY_REQUEST_TTL"),
            (["--request-ttl", "1e16"], [String: String](), "--request-ttl"),
            (["--timeout", "nan"], [:], "--timeout"),
            ([], ["PROXY_TRUSTED_PROXIES": "10.0.0.0/99"], "PROXY_TRUSTED_PROXIES"),
        ] {
            do {
                let process = try await ProxyProcess.launch(arguments: arguments, environment: environment)
                process.stop()
                Issue.record("serve started with \(arguments) \(environment)")
            } catch let error as TestFailure {
                #expect(error.description.contains(name), "\(error)")
            }
        }
    }
}
