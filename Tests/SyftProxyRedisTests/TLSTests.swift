import NIOPosix
import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

/// The client over TLS against a real redis-server with a TLS port and a CA made for the test.
@Suite struct TLSTests {
    /// A redis-server with a plain port (for its own health checks) and a TLS port.
    static func withTLSServer(clientCertificates: Bool = false, _ body: (RedisServerProcess, Int, TestCertificates) async throws -> Void) async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let tlsPort = try FreePort.find()
        let server = try await RedisServerProcess.launch(options: [
            "--tls-port", String(tlsPort), "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
            "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", clientCertificates ? "yes" : "no",
        ])
        do {
            try await body(server, tlsPort, certificates)
            server.stop()
        } catch {
            server.stop()
            throw error
        }
    }

    static func connect(_ url: String, _ tls: RedisTLS) async throws -> RedisConnection {
        try await RedisConnection.connect(configuration: try RedisConfiguration(url: url, tls: tls), eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
    }

    @Test func roundTripsOverTLSWithTheTestCA() async throws {
        try await Self.withTLSServer { _, tlsPort, certificates in
            let connection = try await Self.connect("rediss://localhost:\(tlsPort)/0", RedisTLS(caFile: certificates.caFile))
            #expect(try await connection.send(RedisCommand("SET", "k", "over tls")) == .simpleString("OK"))
            #expect(try await connection.send(RedisCommand("GET", "k")) == .bulk("over tls"))
            await connection.close()
        }
    }

    @Test func aWrongCAIsRefusedSayingSo() async throws {
        try await Self.withTLSServer { _, tlsPort, certificates in
            await #expect {
                _ = try await Self.connect("rediss://localhost:\(tlsPort)/0", RedisTLS(caFile: certificates.otherCAFile))
            } throws: { error in
                let text = "\(error)"
                return text.contains("TLS connection to Redis") && text.contains("PROXY_REDIS_TLS_CA_FILE")
            }
        }
    }

    @Test func theCertificateMustNameTheHost() async throws {
        try await Self.withTLSServer { _, tlsPort, certificates in
            await #expect {
                _ = try await Self.connect("rediss://localhost:\(tlsPort)/0", RedisTLS(caFile: certificates.caFile, serverName: "redis.example.com"))
            } throws: { error in "\(error)".contains("redis.example.com") }
            // The certificate names localhost, not the address: reached by address, it needs the name.
            await #expect(throws: RedisError.self) {
                _ = try await Self.connect("rediss://127.0.0.1:\(tlsPort)/0", RedisTLS(caFile: certificates.caFile))
            }
            let named = try await Self.connect("rediss://127.0.0.1:\(tlsPort)/0", RedisTLS(caFile: certificates.caFile, serverName: "localhost"))
            #expect(try await named.send(RedisCommand("PING")) == .simpleString("PONG"))
            await named.close()
            // Turned off on purpose, a certificate the CA signed is enough.
            let lenient = try await Self.connect("rediss://localhost:\(tlsPort)/0",
                                                 RedisTLS(caFile: certificates.caFile, serverName: "redis.example.com", verifyHostname: false))
            #expect(try await lenient.send(RedisCommand("PING")) == .simpleString("PONG"))
            await lenient.close()
        }
    }

    @Test func aClientCertificateIsSentWhenRedisAsksForOne() async throws {
        try await Self.withTLSServer(clientCertificates: true) { _, tlsPort, certificates in
            await #expect(throws: RedisError.self) {
                _ = try await Self.connect("rediss://localhost:\(tlsPort)/0", RedisTLS(caFile: certificates.caFile))
            }
            let connection = try await Self.connect("rediss://localhost:\(tlsPort)/0", RedisTLS(
                caFile: certificates.caFile, certificateFile: certificates.clientCertificate, keyFile: certificates.clientKey))
            #expect(try await connection.send(RedisCommand("PING")) == .simpleString("PONG"))
            await connection.close()
        }
    }

    @Test func urlsSayWhetherTheyWantTLS() throws {
        #expect(try RedisConfiguration(url: "rediss://h:6380/0").tls == RedisTLS())
        #expect(try RedisConfiguration(url: "redis://h:6379/0").tls == nil)
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://h:6379/0", tls: RedisTLS(caFile: "/ca.pem")) }
        #expect(try RedisConfiguration(url: "rediss://:pw@h:6380/2").description == "rediss://:***@h:6380/2")
        #expect(throws: RedisError.self) { try RedisTLS(caFile: "/nonexistent/ca.pem").makeContext() }
    }
}
