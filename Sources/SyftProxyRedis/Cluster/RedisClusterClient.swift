import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A Redis Cluster as one deployment: commands go to the master that owns their key's slot.
///
/// `run()` discovers the cluster from the seed nodes (`CLUSTER SHARDS`, or `CLUSTER SLOTS`
/// before Redis 7), keeps a pool of a few pipelined connections per master, and refreshes the
/// slot map on redirects, on a lost connection and every `refreshInterval`. Until the first
/// discovery, and for slots whose master is unreachable, calls fail at once with
/// `RedisError.unavailable`.
public final class RedisClusterClient: Sendable {
    /// The seed configuration: credentials, TLS and timeouts apply to every node.
    public let configuration: RedisConfiguration
    public let seeds: [RedisEndpoint]
    public let connectionsPerNode: Int
    public let refreshInterval: Duration
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    /// Redirects one call follows before giving up: more means the cluster is reconfiguring
    /// faster than it can be followed.
    static let maximumRedirects = 5

    let state: Mutex<State>
    let newPools = AsyncStream.makeStream(of: RedisConnectionPool.self)
    let refreshRequests = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    private let shutdownSignal = AsyncStream.makeStream(of: Never.self)

    struct State {
        /// Slot → its master's pool; a flat array so routing is one indexed read.
        var slots: [RedisConnectionPool?] = Array(repeating: nil, count: RedisHashSlot.count)
        /// Every node with a pool: the masters of the map, and ASK targets.
        var nodes: [RedisEndpoint: RedisConnectionPool] = [:]
        /// The masters the map names, in a stable order.
        var masters: [RedisConnectionPool] = []
        /// Bumped whenever a slot changes hands.
        var generation = 0
        var isKnown = false
        var isRunning = false
        var isShutDown = false
        /// Callers waiting for the next refresh to finish.
        var refreshWaiters: [EventLoopPromise<Void>] = []
        var nextKeyless = 0
    }

    /// A cluster must use database 0; any other in `configuration` is an error.
    public init(
        configuration: RedisConfiguration, connectionsPerNode: Int = 2, refreshInterval: Duration = .seconds(5),
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) throws {
        guard configuration.database == 0 else {
            throw RedisError.invalidURL("\(configuration) points at a Redis Cluster, which has only database 0: remove /\(configuration.database) from the URL")
        }
        guard configuration.sentinel == nil else {
            throw RedisError.invalidURL("\(configuration) names sentinels; a Redis Cluster is reached through its own nodes (redis://host1:port1,host2:port2)")
        }
        self.configuration = configuration
        self.seeds = configuration.clusterSeeds.isEmpty ? [RedisEndpoint(host: configuration.host, port: configuration.port)] : configuration.clusterSeeds
        self.connectionsPerNode = max(1, connectionsPerNode)
        self.refreshInterval = refreshInterval
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = Mutex(State())
    }

    /// The configuration for one node: the seed's credentials, TLS (with `RedisTLS.serverName`
    /// for hostname verification, as nodes announce IPs) and timeouts at the node's address.
    func nodeConfiguration(_ endpoint: RedisEndpoint) -> RedisConfiguration {
        var node = configuration
        node.host = endpoint.host
        node.port = endpoint.port
        node.clusterSeeds = []
        return node
    }

    /// Keeps the slot map and every master's connections up until cancelled or shut down.
    public func run() async {
        let firstRun = state.withLock { state in
            defer { state.isRunning = true }
            return !state.isRunning && !state.isShutDown
        }
        guard firstRun else {
            logger.warning("RedisClusterClient.run() called twice or after shutdown; ignored")
            return
        }
        let shutdownRequested = shutdownSignal.stream
        let pools = newPools.stream
        await withTaskGroup(of: Void.self) { group in
            // Pools are created as the map names new masters; each runs here until shut down.
            group.addTask {
                await withDiscardingTaskGroup { running in
                    for await pool in pools { running.addTask { await pool.run() } }
                }
            }
            group.addTask { await self.maintainTopology() }
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: self.refreshInterval)
                    self.requestRefresh()
                }
            }
            group.addTask { for await _ in shutdownRequested {} }
            await group.next()
            group.cancelAll()
        }
        await shutdown()
    }

    /// Closes every node's connections and stops `run()`. Later calls fail with `connectionClosed`.
    public func shutdown() async {
        let (pools, waiters) = state.withLock { state in
            state.isShutDown = true
            defer {
                state.nodes = [:]
                state.masters = []
                state.slots = Array(repeating: nil, count: RedisHashSlot.count)
                state.refreshWaiters = []
            }
            return (Array(state.nodes.values), state.refreshWaiters)
        }
        for waiter in waiters { waiter.succeed() }
        shutdownSignal.continuation.finish()
        newPools.continuation.finish()
        for pool in pools { await pool.shutdown() }
    }

    public var topology: RedisTopology {
        let masters = state.withLock { $0.masters }
        return RedisTopology(mode: .cluster, nodes: masters.count, reachableNodes: masters.filter { $0.connectedCount > 0 }.count)
    }

    /// The pool of the node at `endpoint`, made (and handed to `run()`) when new.
    func pool(for endpoint: RedisEndpoint, in state: inout State) -> (RedisConnectionPool, isNew: Bool) {
        if let pool = state.nodes[endpoint] { return (pool, false) }
        let pool = RedisConnectionPool(
            configuration: nodeConfiguration(endpoint), connectionCount: connectionsPerNode, eventLoopGroup: eventLoopGroup, logger: logger,
            onConnectionLost: { [weak self] in self?.requestRefresh() })
        state.nodes[endpoint] = pool
        return (pool, true)
    }

    func start(_ pools: [RedisConnectionPool]) {
        for pool in pools { newPools.continuation.yield(pool) }
    }
}
