import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// Replicas on a Redis that speaks TLS only: round trips over rediss:// with the operator's
/// CA, and a wrong CA or a missing file refused with errors that say so.
@Suite struct RedisTLSEndToEndTests {
    /// A redis-server whose plain port is closed to clients (the test launcher still probes it)
    /// and whose TLS port needs the test CA.
    static func withTLSRedis(_ body: (Int, TestCertificates) async throws -> Void) async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let tlsPort = try FreePort.find()
        let redis = try await RedisServerProcess.launch(options: [
            "--tls-port", String(tlsPort), "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
            "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", "no",
        ])
        defer { redis.stop() }
        try await body(tlsPort, certificates)
    }

    @Test func aReplicaServesRoundTripsOverTLS() async throws {
        try await Self.withTLSRedis { tlsPort, certificates in
            let proxy = try await ProxyProcess.launch(environment: [
                "PROXY_REDIS_URL": "rediss://localhost:\(tlsPort)/0", "PROXY_REDIS_TLS_CA_FILE": certificates.caFile,
            ])
            defer { proxy.stop() }
            let http = HTTP(baseURL: proxy.baseURL)
            try await eventually("the replica is ready over TLS", within: 10) { (try? await http.get("/ready"))?.status == 200 }
            let sender = Task {
                try await http.post("/rpc/send", ["app_name": "calculator", "func_name": "add", "destination": "bob@example.com",
                                                  "params": ["a": 2, "b": 3], "blocking": true, "timeout": 10])
            }
            var answered = false
            for _ in 0..<20 where !answered {
                let inbox = try await http.get("/rpc/inbox/calculator?destination=bob@example.com&wait=1")
                for item in inbox.json?["requests"]?.arrayValue ?? [] {
                    guard let id = item["id"]?.stringValue else { continue }
                    _ = try await http.post("/rpc/reply/\(id)", ["result": 5])
                    answered = true
                }
            }
            let answer = try await sender.value
            #expect(answer.status == 200)
            #expect(answer.json?["result"] == 5)
            let info = try await http.get("/").json
            #expect(info?["store"] == "redis")
            #expect(info?["store_topology"] == ["mode": "standalone", "nodes": 1, "reachable_nodes": 1])
        }
    }

    @Test func aWrongCALeavesTheReplicaUnreadySayingWhy() async throws {
        try await Self.withTLSRedis { tlsPort, certificates in
            let proxy = try await ProxyProcess.launch(environment: [
                "PROXY_REDIS_URL": "rediss://localhost:\(tlsPort)/0", "PROXY_REDIS_TLS_CA_FILE": certificates.otherCAFile,
            ])
            defer { proxy.stop() }
            let http = HTTP(baseURL: proxy.baseURL)
            try await Task.sleep(for: .milliseconds(500))
            let ready = try await http.get("/ready")
            #expect(ready.status == 503)
            try await eventually("/ready or the log says the TLS connection failed:\n\(proxy.log)", within: 10) {
                if proxy.log.contains("TLS connection to Redis") { return true }
                let detail = (try? await http.get("/ready"))?.text ?? ""
                return detail.contains("TLS")
            }
            #expect(try await http.get("/health").status == 200)
        }
    }

    @Test func aMissingCAFileStopsTheReplicaAtStart() async throws {
        await #expect(throws: TestFailure.self) {
            _ = try await ProxyProcess.launch(environment: [
                "PROXY_REDIS_URL": "rediss://localhost:6380/0", "PROXY_REDIS_TLS_CA_FILE": "/nonexistent/ca.pem",
            ])
        }
        let (status, output) = try runCommand(["serve", "--port", "0"], environment: [
            "PROXY_REDIS_URL": "rediss://localhost:6380/0", "PROXY_REDIS_TLS_CA_FILE": "/nonexistent/ca.pem",
        ])
        #expect(status != 0)
        #expect(output.contains("PROXY_REDIS_TLS_CA_FILE"))
    }
}
