import SyftProxyCore
import SyftProxyRedis

extension RedisStore {
    public var topology: StoreTopology {
        let redis = deployment.topology
        let mode = redis.mode == .unknown ? "detecting" : redis.mode.rawValue
        return StoreTopology(mode: mode, nodes: redis.nodes, reachableNodes: redis.reachableNodes)
    }
}
