import Testing
@testable import SyftProxyRedis

/// Parsing what cluster nodes answer, without a cluster.
@Suite struct ClusterRepliesTests {
    @Test func redirectsAndRetryableErrors() {
        guard case .moved(3999, RedisEndpoint(host: "127.0.0.1", port: 6381))? = RedisClusterReply(errorMessage: "MOVED 3999 127.0.0.1:6381") else {
            Issue.record("MOVED")
            return
        }
        guard case .ask(42, RedisEndpoint(host: "::1", port: 7000))? = RedisClusterReply(errorMessage: "ASK 42 [::1]:7000") else {
            Issue.record("ASK with an IPv6 address")
            return
        }
        for message in ["TRYAGAIN Multiple keys request during rehashing of slot", "CLUSTERDOWN The cluster is down", "LOADING Redis is loading", "MASTERDOWN Link with MASTER is down"] {
            guard case .retryLater? = RedisClusterReply(errorMessage: message) else {
                Issue.record("\(message) is retried")
                continue
            }
        }
        #expect(RedisClusterReply(errorMessage: "ERR wrong number of arguments") == nil)
        #expect(RedisClusterReply(errorMessage: "MOVED nonsense") == nil)
    }

    @Test func clusterShardsNamesEachShardsMaster() throws {
        func node(_ id: String, port: Int64, role: String, health: String, endpoint: String = "127.0.0.1") -> RESPValue {
            .array([
                .bulk("id"), .bulk(id), .bulk("port"), .integer(port), .bulk("ip"), .bulk("127.0.0.1"), .bulk("endpoint"), .bulk(endpoint),
                .bulk("role"), .bulk(role), .bulk("replication-offset"), .integer(0), .bulk("health"), .bulk(health),
            ])
        }
        let reply = RESPValue.array([
            .array([
                .bulk("slots"), .array([.integer(0), .integer(99), .integer(200), .integer(299)]), .bulk("nodes"),
                .array([node("a", port: 7000, role: "replica", health: "online"), node("b", port: 7001, role: "master", health: "online")]),
            ]),
            .array([.bulk("slots"), .array([.integer(100), .integer(199)]), .bulk("nodes"), .array([node("c", port: 7002, role: "master", health: "online", endpoint: "?")])]),
            // A shard without slots (a new empty master) is no part of the map.
            .array([.bulk("slots"), .array([]), .bulk("nodes"), .array([node("d", port: 7003, role: "master", health: "online")])]),
        ])
        let ranges = try RedisClusterSlotRanges.parseShards(reply, reportedBy: RedisEndpoint(host: "10.0.0.9", port: 7000), tls: false)
        #expect(ranges.ranges == [
            .init(slots: 0...99, master: RedisEndpoint(host: "127.0.0.1", port: 7001)),
            .init(slots: 200...299, master: RedisEndpoint(host: "127.0.0.1", port: 7001)),
            .init(slots: 100...199, master: RedisEndpoint(host: "127.0.0.1", port: 7002)),
        ])
        #expect(throws: RedisError.self) { try RedisClusterSlotRanges.parseShards(.array([.bulk("x")]), reportedBy: RedisEndpoint(host: "h", port: 1), tls: false) }
    }

    @Test func clusterSlotsBeforeRedisSeven() throws {
        let reply = RESPValue.array([
            .array([.integer(0), .integer(5460), .array([.bulk("127.0.0.1"), .integer(7000), .bulk("id-a")]), .array([.bulk("127.0.0.1"), .integer(7003), .bulk("id-d")])]),
            // An empty address is the node that answered.
            .array([.integer(5461), .integer(16383), .array([.bulk(""), .integer(7001), .bulk("id-b")])]),
        ])
        let ranges = try RedisClusterSlotRanges.parseSlots(reply, reportedBy: RedisEndpoint(host: "10.0.0.2", port: 7001))
        #expect(ranges.ranges == [
            .init(slots: 0...5460, master: RedisEndpoint(host: "127.0.0.1", port: 7000)),
            .init(slots: 5461...16383, master: RedisEndpoint(host: "10.0.0.2", port: 7001)),
        ])
    }
}
