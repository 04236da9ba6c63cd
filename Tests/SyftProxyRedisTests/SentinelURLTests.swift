import Testing
@testable import SyftProxyRedis

@Suite struct SentinelURLTests {
    @Test func sentinelURLsNameTheSentinelsTheMasterAndTheDatabase() throws {
        let configuration = try RedisConfiguration(url: "redis+sentinel://:s%40cret@10.0.0.1:26379,[::1]:26380,sentinel-3/mymaster/2")
        let sentinel = try #require(configuration.sentinel)
        #expect(sentinel.masterName == "mymaster")
        #expect(sentinel.sentinels == [.init(host: "10.0.0.1", port: 26379), .init(host: "::1", port: 26380), .init(host: "sentinel-3", port: 26379)])
        #expect(configuration.password == "s@cret")
        #expect(configuration.database == 2)
        #expect(configuration.tls == nil)
        #expect(configuration.description == "redis+sentinel://:***@10.0.0.1:26379,[::1]:26380,sentinel-3:26379/mymaster/2")
        #expect(try RedisConfiguration(url: "rediss+sentinel://a:26379/m").tls == RedisTLS())
        #expect(try RedisConfiguration(url: "redis+sentinel://a:26379/m").database == 0)
    }

    @Test(arguments: ["redis+sentinel://a:26379", "redis+sentinel://a:26379/", "redis+sentinel://a:26379,,b/m", "redis+sentinel:///m",
                      "redis+sentinel://a:26379/m/x", "redis+sentinel://a:26379/m/1/2", "redis+sentinel://a:99999/m"])
    func malformedSentinelURLsAreRefused(_ url: String) {
        #expect(throws: RedisError.self) { try RedisConfiguration(url: url) }
    }
}
