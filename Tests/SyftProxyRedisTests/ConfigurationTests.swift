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
