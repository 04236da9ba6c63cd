import SyftProxyCore
import SyftProxyRedis

extension RedisStore {
    public var topology: StoreTopology {
        let redis = pool.topology
        return StoreTopology(mode: redis.mode.rawValue, nodes: redis.nodes, reachableNodes: redis.reachableNodes)
    }
}
