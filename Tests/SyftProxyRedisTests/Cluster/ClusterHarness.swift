import NIOPosix
import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

/// A running cluster client over a fresh Redis Cluster, its slot map known and a connection up
/// to every master before `body` starts; both are stopped afterwards whatever happens.
@discardableResult
func withClusterClient<T>(
    masters: Int = 3, replicasPerMaster: Int = 0, options: [String] = [],
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RedisClusterClient, RedisClusterProcess) async throws -> T
) async throws -> T {
    let cluster = try await RedisClusterProcess.launch(masters: masters, replicasPerMaster: replicasPerMaster, options: options)
    defer { cluster.stop() }
    let client = try RedisClusterClient(configuration: RedisConfiguration(url: cluster.seedURL), refreshInterval: .seconds(1), logger: testLogger)
    let running = Task { await client.run() }
    do {
        try await eventually("the client knows every master and reaches it") {
            let topology = client.topology
            return topology.nodes == masters && topology.reachableNodes == masters
        }
        let result = try await body(client, cluster)
        await client.shutdown()
        await running.value
        return result
    } catch {
        await client.shutdown()
        await running.value
        throw error
    }
}

/// A plain connection to one node, for checking what landed where.
func nodeConnection(_ port: Int) async throws -> RedisConnection {
    try await RedisConnection.connect(
        configuration: RedisConfiguration(host: "127.0.0.1", port: port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
}

/// The first `prefix-N` key whose slot `accept` takes.
func key(_ prefix: String, where accept: (Int) -> Bool) -> String {
    var index = 0
    while !accept(RedisHashSlot.slot(of: "\(prefix)-\(index)")) { index += 1 }
    return "\(prefix)-\(index)"
}

extension RedisClusterProcess.Node {
    var lowestSlot: Int { slots.map(\.lowerBound).min() ?? 0 }
}
