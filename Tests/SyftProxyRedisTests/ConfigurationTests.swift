import Testing
@testable import SyftProxyRedis

@Suite struct ConfigurationTests {
    @Test func parsesRedisURLs() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6380/2")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.database == 2 && plain.password == nil)
        let defaults = try RedisConfiguration(url: "redis://localhost")
        #expect(defaults.port == 6379 && defaults.database == 0)
        let user = try RedisConfiguration(url: "redis://user:p%40ss@redis.internal")
        #expect(user.username == "user" && user.password == "p@ss" && user.port == 6379 && user.host == "redis.internal")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:7000/")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.port == 7000)
        let ipv6 = try RedisConfiguration(url: "redis://[::1]:6390/1")
        #expect(ipv6.host == "::1" && ipv6.port == 6390 && ipv6.endpointDescription == "[::1]:6390")
    }

    @Test(arguments: ["http://localhost", "redis://", "redis://host:99999", "redis://host:", "redis://host/x", "rediss://", "redis://host?db=1", "redis://[::1"])
    func rejectsBadURLs(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }

    @Test func errorsExplainAndNeverShowThePassword() {
        do {
            _ = try RedisConfiguration(url: "redis://:hunter2@host:99999")
            Issue.record("accepted a bad port")
        } catch {
            let message = "\(error)"
            #expect(message.contains("port") && message.contains("e.g. redis://"))
            #expect(!message.contains("hunter2"))
        }
        let configuration = RedisConfiguration(host: "h", password: "hunter2")
        #expect(!"\(configuration)".contains("hunter2"))
    }
}

@Suite struct ClusterURLTests {
    @Test func severalHostsAreClusterSeeds() throws {
        let seeds = try RedisConfiguration(url: "redis://user:pw@10.0.0.1:7000,10.0.0.2,[::1]:7002/0")
        #expect(seeds.clusterSeeds == [RedisEndpoint(host: "10.0.0.1", port: 7000), RedisEndpoint(host: "10.0.0.2", port: 6379), RedisEndpoint(host: "::1", port: 7002)])
        #expect(seeds.host == "10.0.0.1" && seeds.port == 7000 && seeds.username == "user" && seeds.password == "pw")
        #expect("\(seeds)" == "redis://user:***@10.0.0.1:7000,10.0.0.2:6379,[::1]:7002/0")
        let secure = try RedisConfiguration(url: "rediss://h1:1,h2:2")
        #expect(secure.tls != nil && secure.clusterSeeds.count == 2)
        // One host is parsed as before.
        #expect(try RedisConfiguration(url: "redis://h:1/3").clusterSeeds.isEmpty)
    }

    @Test func aClusterHasOnlyDatabaseZero() {
        #expect {
            try RedisConfiguration(url: "redis://h1:1,h2:2/1")
        } throws: { error in
            guard case RedisError.invalidURL(let message) = error else { return false }
            return message.contains("only database 0")
        }
        #expect(throws: RedisError.self) { try RedisClusterClient(configuration: RedisConfiguration(host: "h", database: 2), logger: testLogger) }
        #expect(throws: RedisError.self) { try RedisConfiguration(url: "redis://h1:1,,h2:2") }
    }
}
