import Logging
import Synchronization
import SyftProxyRedis
import SyftProxyTestSupport

/// The least a store needs from a Redis Cluster, for tests: the slot map read once, a pool per
/// master, each command or script sent to the master that owns its slot, and one SSUBSCRIBE
/// subscriber per master for the channels whose slots it owns. No redirects are followed:
/// nothing moves while these tests run, so a MOVED or CROSSSLOT error is a test failure.
final class StaticClusterDeployment: RedisDeployment {
    let pools: [RedisConnectionPool]
    /// The pool index of each slot's master.
    private let owner: [Int]
    let ports: [Int]

    init(cluster: RedisClusterProcess, logger: Logger) throws {
        let masters = try cluster.masters.sorted { $0.port < $1.port }
        var owner = [Int](repeating: -1, count: RedisHashSlot.count)
        for (index, master) in masters.enumerated() {
            for range in master.slots { for slot in range { owner[slot] = index } }
        }
        guard !owner.contains(-1) else { throw TestFailure("the cluster leaves slots uncovered") }
        self.owner = owner
        ports = masters.map(\.port)
        pools = try masters.map { master in
            RedisConnectionPool(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(master.port)"), connectionCount: 2, logger: logger)
        }
    }

    func node(of key: String) -> Int { owner[RedisHashSlot.slot(of: key)] }

    func send(_ command: RedisCommand, routingKey: String?) async throws -> RESPValue {
        try await pools[routingKey.map(node(of:)) ?? 0].send(command)
    }

    func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        try await pools[keys.first.map(node(of:)) ?? 0].eval(script, keys: keys, args: args)
    }

    func run() async {
        await withDiscardingTaskGroup { group in
            for pool in pools { group.addTask { await pool.run() } }
        }
    }

    func shutdown() async {
        for pool in pools { await pool.shutdown() }
    }

    var connected: Bool { pools.allSatisfy { $0.connectedCount == $0.connectionCount } }

    func makeShardSubscriber(
        channels: [String], logger: Logger, onMessage: @escaping @Sendable (String, [UInt8]) -> Void, onSubscribed: @escaping @Sendable () -> Void
    ) -> any RedisShardSubscription {
        let subscribers = pools.indices.compactMap { index -> RedisSubscriber? in
            let owned = channels.filter { node(of: $0) == index }
            guard !owned.isEmpty else { return nil }
            return RedisSubscriber(
                configuration: pools[index].configuration, channels: owned, sharded: true, logger: logger,
                onMessage: onMessage, onSubscribed: onSubscribed)
        }
        return Subscriptions(subscribers: subscribers)
    }

    var topology: RedisTopology {
        RedisTopology(mode: .cluster, nodes: pools.count, reachableNodes: pools.filter { $0.connectedCount > 0 }.count)
    }

    struct Subscriptions: RedisShardSubscription {
        let subscribers: [RedisSubscriber]
        func run() async {
            await withDiscardingTaskGroup { group in
                for subscriber in subscribers { group.addTask { await subscriber.run() } }
            }
        }
        var isConnected: Bool { subscribers.allSatisfy(\.isConnected) }
    }
}
