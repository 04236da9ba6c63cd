import Foundation
import Logging
import SyftProxyCore
import SyftProxySyftBox

/// Every setting of SPEC.md's Configuration section. Read from PROXY_* environment variables;
/// the CLI overrides single fields from its flags.
public struct ProxyConfiguration: Sendable, Equatable {
    public var host = "0.0.0.0"
    public var port = 8000
    /// Event loop threads; defaults to the number of cores.
    public var workers = System.coreCount
    public var logLevel: Logger.Level = .info
    /// "json" (one object per line) or "text".
    public var logFormat = "json"
    /// Requests in flight on this replica (blocking callers included) before 503.
    public var maxRequests = 1000
    public var timeout: Double = 60
    public var maxTimeout: Double = 300
    /// nil runs the embedded store.
    public var redisURL: String?
    /// Virtual shards of the Redis key layout; the same on every replica for as long as the
    /// deployment holds state (the store refuses to serve with another count).
    public var redisShards = ShardLayout.defaultShardCount
    public var requestTTL: Double = 3600
    /// `key=identity` pairs separated by commas; empty means the API is open.
    public var apiKeys: String?
    /// A file of `key=identity` lines, read at start (for keys mounted from a secret).
    public var apiKeysFile: String?
    /// `key=operator` pairs, shaped as apiKeys, for /admin and /dashboard; neither is served
    /// without them.
    public var adminKeys: String?
    /// A file of `key=operator` lines, read at start.
    public var adminKeysFile: String?
    /// PROXY_FAILED_TTL; nil means ``failedTTL``'s default.
    public var failedTTLOverride: Double?
    /// Requests per minute per identity; 0 turns limiting off.
    public var rateLimit = 0
    public var maxAttempts = 3
    public var maxParamsBytes = 1_000_000
    /// nil means 4 x maxParamsBytes.
    public var maxBodyBytesOverride: Int?
    public var leaseSeconds: Double = 30
    public var replicaID: String?
    /// Concurrent push deliveries per replica.
    public var pushConcurrency = 32
    /// Push deliveries in flight per app endpoint (host and port); nil means a quarter of
    /// pushConcurrency (at least 1).
    public var pushEndpointConcurrencyOverride: Int?
    /// Networks push deliveries may not connect to, besides PushAddressPolicy.defaultDenials.
    public var pushDenyNetworks: [IPNetwork] = []
    /// Networks push deliveries may connect to even when denied.
    public var pushAllowNetworks: [IPNetwork] = []
    /// How often each replica looks for overdue requests and expired leases.
    public var sweepInterval: Double = 0.25
    /// The SyftBox data_dir (holding datasites/); nil turns the SyftBox transport off.
    public var syftBoxDataDirectory: String?
    /// The identity request files are written as.
    public var syftBoxEmail: String?
    /// How often answer files are looked for without a file event.
    public var syftBoxPollInterval: Double = 0.5
    /// TLS files and checks for a `rediss://` PROXY_REDIS_URL.
    public var redisTLS = RedisTLSSettings()
    /// Seconds a connection may sit without a complete request head (idle keep-alive, or
    /// headers trickled in) before the server closes it.
    public var idleTimeout: Double = 75
    /// Seconds from a request's head to the last byte of its body; a body sent slower is cut
    /// off with 408 and the connection closed.
    public var bodyTimeout: Double = 30
    /// Networks of the proxies in front of the replicas (an ingress, a load balancer). Only a
    /// peer inside one is believed about X-Forwarded-For; empty trusts no one.
    public var trustedProxies: [IPNetwork] = []

    public init() {}

    /// The accepted range of every numeric setting. Seconds are bounded so that no conversion
    /// to milliseconds or nanoseconds, here or in Redis, can overflow.
    public enum Bounds {
        public static let port = 0...65535
        public static let workers = 1...512
        public static let maxRequests = 1...10_000_000
        public static let rateLimit = 0...100_000_000
        public static let maxAttempts = 1...1000
        public static let redisShards = ShardLayout.shardCounts
        public static let maxParamsBytes = 2...1_000_000_000
        public static let maxBodyBytes = 2...4_000_000_000
        public static let pushConcurrency = 1...10_000
        /// A day: the longest a caller may wait for an answer.
        public static let timeout: ClosedRange<Double> = 0.001...86_400
        /// 30 days.
        public static let requestTTL: ClosedRange<Double> = 1...2_592_000
        public static let leaseSeconds: ClosedRange<Double> = 0.1...86_400
        public static let syftBoxPollInterval: ClosedRange<Double> = 0.01...60
        public static let idleTimeout: ClosedRange<Double> = 1...86_400
        public static let bodyTimeout: ClosedRange<Double> = 1...86_400
    }

    public var maxBodyBytes: Int { maxBodyBytesOverride ?? maxParamsBytes * 4 }

    /// Seconds a failed request is kept as a dead letter, from its failure: at least the
    /// request TTL; by default a week, or the request TTL when that is longer.
    public var failedTTL: Double { failedTTLOverride ?? max(AdminLimits.defaultFailedTTL, requestTTL) }

    public var pushEndpointConcurrency: Int { pushEndpointConcurrencyOverride ?? max(1, pushConcurrency / 4) }

    public var limits: RequestLimits {
        RequestLimits(defaultTimeout: timeout, maximumTimeout: maxTimeout, maximumParamsBytes: maxParamsBytes)
    }

    public var storeSettings: StoreSettings {
        StoreSettings(requestTTL: requestTTL, maximumAttempts: maxAttempts, leaseSeconds: leaseSeconds, failedTTL: failedTTL,
                      replicaID: replicaID ?? "")
    }

    /// Reads PROXY_* variables; unknown variables are ignored, malformed or out-of-range ones
    /// are errors naming the variable.
    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        host = reader.string("PROXY_HOST") ?? host
        port = try reader.int("PROXY_PORT", range: Bounds.port) ?? port
        workers = try reader.int("PROXY_WORKERS", range: Bounds.workers) ?? workers
        if let level = reader.string("PROXY_LOG_LEVEL") { logLevel = try Self.parseLogLevel(level) }
        if let format = reader.string("PROXY_LOG_FORMAT") {
            guard ["json", "text"].contains(format) else { throw ConfigurationError("PROXY_LOG_FORMAT must be json or text, got '\(format)'") }
            logFormat = format
        }
        maxRequests = try reader.int("PROXY_MAX_REQUESTS", range: Bounds.maxRequests) ?? maxRequests
        timeout = try reader.seconds("PROXY_TIMEOUT", range: Bounds.timeout) ?? timeout
        maxTimeout = try reader.seconds("PROXY_MAX_TIMEOUT", range: Bounds.timeout) ?? maxTimeout
        redisURL = reader.string("PROXY_REDIS_URL")
        redisShards = try reader.int("PROXY_REDIS_SHARDS", range: Bounds.redisShards) ?? redisShards
        requestTTL = try reader.seconds("PROXY_REQUEST_TTL", range: Bounds.requestTTL) ?? requestTTL
        apiKeys = reader.string("PROXY_API_KEYS")
        apiKeysFile = reader.string("PROXY_API_KEYS_FILE")
        adminKeys = reader.string("PROXY_ADMIN_KEYS")
        adminKeysFile = reader.string("PROXY_ADMIN_KEYS_FILE")
        failedTTLOverride = try reader.seconds("PROXY_FAILED_TTL", range: Bounds.requestTTL)
        rateLimit = try reader.int("PROXY_RATE_LIMIT", range: Bounds.rateLimit) ?? rateLimit
        maxAttempts = try reader.int("PROXY_MAX_ATTEMPTS", range: Bounds.maxAttempts) ?? maxAttempts
        maxParamsBytes = try reader.int("PROXY_MAX_PARAMS_BYTES", range: Bounds.maxParamsBytes) ?? maxParamsBytes
        maxBodyBytesOverride = try reader.int("PROXY_MAX_BODY_BYTES", range: Bounds.maxBodyBytes)
        leaseSeconds = try reader.seconds("PROXY_LEASE_SECONDS", range: Bounds.leaseSeconds) ?? leaseSeconds
        replicaID = reader.string("PROXY_REPLICA_ID")
        pushConcurrency = try reader.int("PROXY_PUSH_CONCURRENCY", range: Bounds.pushConcurrency) ?? pushConcurrency
        pushEndpointConcurrencyOverride = try reader.int("PROXY_PUSH_ENDPOINT_CONCURRENCY", range: Bounds.pushConcurrency)
        if let text = reader.string("PROXY_PUSH_DENY_NETWORKS") { pushDenyNetworks = try Self.parseNetworks(text, name: "PROXY_PUSH_DENY_NETWORKS") }
        if let text = reader.string("PROXY_PUSH_ALLOW_NETWORKS") { pushAllowNetworks = try Self.parseNetworks(text, name: "PROXY_PUSH_ALLOW_NETWORKS") }
        syftBoxDataDirectory = reader.string("PROXY_SYFTBOX_DATA_DIR")
        syftBoxEmail = reader.string("PROXY_SYFTBOX_EMAIL")
        syftBoxPollInterval = try reader.seconds("PROXY_SYFTBOX_POLL_INTERVAL", range: Bounds.syftBoxPollInterval) ?? syftBoxPollInterval
        idleTimeout = try reader.seconds("PROXY_IDLE_TIMEOUT", range: Bounds.idleTimeout) ?? idleTimeout
        bodyTimeout = try reader.seconds("PROXY_BODY_TIMEOUT", range: Bounds.bodyTimeout) ?? bodyTimeout
        redisTLS = try RedisTLSSettings(environment: environment)
        if let text = reader.string("PROXY_TRUSTED_PROXIES") { trustedProxies = try Self.parseNetworks(text, name: "PROXY_TRUSTED_PROXIES") }
        try validate()
    }

    /// Checks every setting's range and the relations between settings. Runs after the CLI's
    /// flags have been applied too, so a flag passes the same checks as its variable; each
    /// message names the variable and its flag.
    public func validate() throws(ConfigurationError) {
        try Self.check(port, Bounds.port, "PROXY_PORT", "--port")
        try Self.check(workers, Bounds.workers, "PROXY_WORKERS", "--workers")
        try Self.check(maxRequests, Bounds.maxRequests, "PROXY_MAX_REQUESTS", "--max-requests")
        try Self.check(rateLimit, Bounds.rateLimit, "PROXY_RATE_LIMIT", "--rate-limit")
        try Self.check(maxAttempts, Bounds.maxAttempts, "PROXY_MAX_ATTEMPTS", "--max-attempts")
        try Self.check(redisShards, Bounds.redisShards, "PROXY_REDIS_SHARDS", "--redis-shards")
        try Self.check(maxParamsBytes, Bounds.maxParamsBytes, "PROXY_MAX_PARAMS_BYTES", "--max-params-bytes")
        if let maxBodyBytesOverride { try Self.check(maxBodyBytesOverride, Bounds.maxBodyBytes, "PROXY_MAX_BODY_BYTES", "--max-body-bytes") }
        try Self.check(pushConcurrency, Bounds.pushConcurrency, "PROXY_PUSH_CONCURRENCY", "--push-concurrency")
        if let pushEndpointConcurrencyOverride {
            try Self.check(pushEndpointConcurrencyOverride, Bounds.pushConcurrency, "PROXY_PUSH_ENDPOINT_CONCURRENCY", "--push-endpoint-concurrency")
        }
        try Self.check(seconds: timeout, Bounds.timeout, "PROXY_TIMEOUT", "--timeout")
        try Self.check(seconds: maxTimeout, Bounds.timeout, "PROXY_MAX_TIMEOUT", "--max-timeout")
        try Self.check(seconds: requestTTL, Bounds.requestTTL, "PROXY_REQUEST_TTL", "--request-ttl")
        if let failedTTLOverride { try Self.check(seconds: failedTTLOverride, Bounds.requestTTL, "PROXY_FAILED_TTL", "--failed-ttl") }
        if failedTTL < requestTTL {
            throw ConfigurationError("PROXY_FAILED_TTL (\(JSONValue.format(failedTTL))) must be at least PROXY_REQUEST_TTL (\(JSONValue.format(requestTTL))): a dead letter is kept at least as long as any other record")
        }
        try Self.check(seconds: leaseSeconds, Bounds.leaseSeconds, "PROXY_LEASE_SECONDS", "--lease-seconds")
        try Self.check(seconds: syftBoxPollInterval, Bounds.syftBoxPollInterval, "PROXY_SYFTBOX_POLL_INTERVAL", "--syftbox-poll-interval")
        try Self.check(seconds: idleTimeout, Bounds.idleTimeout, "PROXY_IDLE_TIMEOUT", "--idle-timeout")
        try Self.check(seconds: bodyTimeout, Bounds.bodyTimeout, "PROXY_BODY_TIMEOUT", "--body-timeout")
        if !(sweepInterval > 0 && sweepInterval <= 60) {
            throw ConfigurationError("the sweep interval must be from 0 to 60 seconds, got \(sweepInterval)")
        }
        if timeout > maxTimeout {
            throw ConfigurationError("PROXY_TIMEOUT (\(JSONValue.format(timeout))) must not exceed PROXY_MAX_TIMEOUT (\(JSONValue.format(maxTimeout)))")
        }
        if maxBodyBytes < maxParamsBytes {
            throw ConfigurationError("PROXY_MAX_BODY_BYTES (\(maxBodyBytes)) must be at least PROXY_MAX_PARAMS_BYTES (\(maxParamsBytes))")
        }
        if maxBodyBytesOverride == nil, !Bounds.maxBodyBytes.contains(maxBodyBytes) {
            throw ConfigurationError("PROXY_MAX_BODY_BYTES defaults to 4 x PROXY_MAX_PARAMS_BYTES (\(maxBodyBytes)), more than \(Bounds.maxBodyBytes.upperBound); set PROXY_MAX_BODY_BYTES (--max-body-bytes)")
        }
        try validateSyftBox()
        if let redisURL, !["redis://", "rediss://", "redis+sentinel://", "rediss+sentinel://"].contains(where: { redisURL.hasPrefix($0) }) {
            throw ConfigurationError("PROXY_REDIS_URL must look like redis://host:6379/0, rediss:// for TLS, or redis+sentinel://host1:26379,host2:26379/<master-name> for Sentinel; got '\(redisURL)'")
        }
        try redisTLS.validate(redisURL: redisURL)
    }

    static func check(_ value: Int, _ range: ClosedRange<Int>, _ name: String, _ flag: String) throws(ConfigurationError) {
        guard range.contains(value) else {
            throw ConfigurationError("\(name) (\(flag)) must be a whole number from \(range.lowerBound) to \(range.upperBound), got \(value)")
        }
    }

    static func check(seconds value: Double, _ range: ClosedRange<Double>, _ name: String, _ flag: String) throws(ConfigurationError) {
        guard value.isFinite, range.contains(value) else {
            throw ConfigurationError("\(name) (\(flag)) must be a number of seconds from \(JSONValue.format(range.lowerBound)) to \(JSONValue.format(range.upperBound))\(Self.spelledOut(range.upperBound)), got \(JSONValue.format(value))")
        }
    }

    private static func spelledOut(_ seconds: Double) -> String {
        switch seconds {
        case 86_400: " (1 day)"
        case 2_592_000: " (30 days)"
        default: ""
        }
    }

    /// Comma-separated CIDRs ("10.0.0.0/8, 192.168.1.7, ::1/128"), for every network-list setting.
    public static func parseNetworks(_ text: String, name: String) throws(ConfigurationError) -> [IPNetwork] {
        switch IPNetwork.parseList(text) {
        case .success(let networks): return networks
        case .failure(let invalid):
            throw ConfigurationError("\(name) must be comma-separated networks such as 10.0.0.0/8 or ::1/128; '\(invalid.text)' is not one")
        }
    }

    /// The SyftBox transport's settings, when PROXY_SYFTBOX_DATA_DIR is set.
    public var syftBox: SyftBoxSettings? {
        guard let syftBoxDataDirectory, let syftBoxEmail else { return nil }
        return SyftBoxSettings(dataDirectory: syftBoxDataDirectory, email: syftBoxEmail, pollInterval: syftBoxPollInterval,
                               maximumAnswerBytes: maxBodyBytes)
    }

    private func validateSyftBox() throws(ConfigurationError) {
        switch (syftBoxDataDirectory, syftBoxEmail) {
        case (nil, nil):
            return
        case (nil, _?):
            throw ConfigurationError("PROXY_SYFTBOX_EMAIL is set but PROXY_SYFTBOX_DATA_DIR is not; set both to turn on the SyftBox transport")
        case (_?, nil):
            throw ConfigurationError("PROXY_SYFTBOX_DATA_DIR is set but PROXY_SYFTBOX_EMAIL is not; set it to the identity the SyftBox client is logged in as")
        case (let directory?, let email?):
            guard SyftBoxIdentity.isValid(email) else {
                throw ConfigurationError("PROXY_SYFTBOX_EMAIL must be a SyftBox identity such as proxy@example.com (name@domain.tld), got '\(email)'")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError("PROXY_SYFTBOX_DATA_DIR (\(directory)) is not a folder; point it at the SyftBox data_dir that holds datasites/")
            }
        }
    }

    /// The keys of PROXY_API_KEYS and PROXY_API_KEYS_FILE together.
    public func loadAPIKeys() throws(ConfigurationError) -> APIKeys {
        try Self.loadKeys(list: apiKeys, file: apiKeysFile, variable: "PROXY_API_KEYS")
    }

    /// The operators' keys of PROXY_ADMIN_KEYS and PROXY_ADMIN_KEYS_FILE together, each
    /// mapped to the operator's name (an identity, as for API keys).
    public func loadAdminKeys() throws(ConfigurationError) -> APIKeys {
        try Self.loadKeys(list: adminKeys, file: adminKeysFile, variable: "PROXY_ADMIN_KEYS")
    }

    /// A key setting and its `_FILE` companion, parsed the one way.
    private static func loadKeys(list: String?, file: String?, variable: String) throws(ConfigurationError) -> APIKeys {
        var identities = try APIKeys(parsing: list ?? "", source: variable).identities
        if let file {
            let text: String
            do { text = try String(contentsOfFile: file, encoding: .utf8) } catch {
                throw ConfigurationError("\(variable)_FILE: cannot read \(file): \(error)")
            }
            for (key, identity) in try APIKeys(parsing: text, source: variable + "_FILE").identities { identities[key] = identity }
        }
        return APIKeys(identities)
    }

    public static func parseLogLevel(_ text: String) throws(ConfigurationError) -> Logger.Level {
        let normalized = text.lowercased() == "warn" ? "warning" : text.lowercased()
        guard let level = Logger.Level(rawValue: normalized) else {
            throw ConfigurationError("PROXY_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical; got '\(text)'")
        }
        return level
    }
}

public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

private struct EnvironmentReader {
    let environment: [String: String]

    func string(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingWhitespace, !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func seconds(_ name: String, range: ClosedRange<Double>) throws(ConfigurationError) -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw ConfigurationError("\(name) must be a number of seconds from \(JSONValue.format(range.lowerBound)) to \(JSONValue.format(range.upperBound)), got '\(text)'")
        }
        return value
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
