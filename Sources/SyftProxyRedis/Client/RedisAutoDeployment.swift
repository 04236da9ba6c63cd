import Logging
import NIOCore
import NIOPosix
import Synchronization

/// The deployment a Redis URL points at, found out by asking: a `redis+sentinel://` URL is
/// Sentinel, several hosts are a Redis Cluster, and one host is asked `CLUSTER INFO` (a
/// cluster node answers, a plain Redis says cluster support is disabled). One URL of any
/// cluster node is therefore enough.
///
/// Until the first detection succeeds (`run()` retries with backoff while Redis is down),
/// calls fail at once with `RedisError.unavailable` and `topology.mode` is `.unknown`.
public final class RedisAutoDeployment: RedisDeployment {
    public let configuration: RedisConfiguration
    private let connectionCount: Int
    private let connectionsPerNode: Int
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())
    private let shutdownSignal = AsyncStream.makeStream(of: Never.self)

    private struct State {
        var deployment: (any RedisDeployment)?
        var problem: String?
        var isRunning = false
        var isShutDown = false
    }

    /// `connectionCount` is the pool size for one Redis or Sentinel; `connectionsPerNode` the
    /// pool size per master of a cluster.
    public init(
        configuration: RedisConfiguration, connectionCount: Int = 4, connectionsPerNode: Int = 2,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.configuration = configuration
        self.connectionCount = connectionCount
        self.connectionsPerNode = connectionsPerNode
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// The detected deployment, nil until then.
    public var deployment: (any RedisDeployment)? { state.withLock { $0.deployment } }

    public func run() async {
        let firstRun = state.withLock { state in
            defer { state.isRunning = true }
            return !state.isRunning && !state.isShutDown
        }
        guard firstRun else {
            logger.warning("RedisAutoDeployment.run() called twice or after shutdown; ignored")
            return
        }
        let shutdownRequested = shutdownSignal.stream
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                guard let deployment = await self.detect() else { return }
                await deployment.run()
            }
            group.addTask { for await _ in shutdownRequested {} }
            await group.next()
            group.cancelAll()
        }
        await deployment?.shutdown()
    }

    public func shutdown() async {
        let deployment = state.withLock { state in
            state.isShutDown = true
            return state.deployment
        }
        shutdownSignal.continuation.finish()
        await deployment?.shutdown()
    }

    /// Asks until Redis answers; nil when cancelled or shut down first.
    private func detect() async -> (any RedisDeployment)? {
        var backoff = ReconnectBackoff()
        var failures = 0
        while !Task.isCancelled {
            do {
                let deployment = try await makeDeployment()
                let kept = state.withLock { state in
                    guard !state.isShutDown else { return false }
                    state.deployment = deployment
                    state.problem = nil
                    return true
                }
                guard kept else { return nil }
                logger.info("Redis deployment detected", metadata: ["redis": "\(configuration)", "mode": "\(deployment.topology.mode.rawValue)"])
                return deployment
            } catch let error as RedisError {
                failures += 1
                state.withLock { $0.problem = "\(error)" }
                if failures == 1 {
                    logger.warning("cannot tell what the Redis URL points at yet; retrying with backoff", metadata: ["redis": "\(configuration)", "error": "\(error)"])
                }
            } catch {
                failures += 1
            }
            try? await Task.sleep(for: backoff.next())
        }
        return nil
    }

    private func makeDeployment() async throws -> any RedisDeployment {
        if configuration.sentinel != nil { return makePool() }
        if configuration.clusterSeeds.count > 1 { return try makeCluster() }
        let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
        let info: RESPValue
        do {
            info = try await connection.send(RedisCommand("CLUSTER", "INFO"))
        } catch RedisError.server(let message) where message.lowercased().contains("cluster support disabled") {
            await connection.close()
            return makePool()
        } catch {
            await connection.close()
            throw error
        }
        await connection.close()
        guard let text = info.string, text.contains("cluster_state:") else {
            throw RedisError.protocolError("Redis at \(configuration.endpointDescription) answered CLUSTER INFO with neither an error nor cluster_state")
        }
        return try makeCluster()
    }

    private func makePool() -> any RedisDeployment {
        RedisConnectionPool(configuration: configuration, connectionCount: connectionCount, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    private func makeCluster() throws -> any RedisDeployment {
        try RedisClusterClient(configuration: configuration, connectionsPerNode: connectionsPerNode, eventLoopGroup: eventLoopGroup, logger: logger)
    }

    private func current() throws -> any RedisDeployment {
        let (deployment, problem, isShutDown) = state.withLock { ($0.deployment, $0.problem, $0.isShutDown) }
        if let deployment { return deployment }
        if isShutDown { throw RedisError.connectionClosed("the Redis client for \(configuration) was shut down") }
        throw RedisError.unavailable("Redis at \(configuration.endpointDescription) has not answered yet, so whether it is one Redis or a cluster is not known\(problem.map { " (\($0))" } ?? "")")
    }

    public func send(_ command: RedisCommand, routingKey: String?) async throws -> RESPValue {
        try await current().send(command, routingKey: routingKey)
    }

    public func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        try await current().eval(script, keys: keys, args: args)
    }

    public var topology: RedisTopology {
        deployment?.topology ?? RedisTopology(mode: .unknown, nodes: 0, reachableNodes: 0)
    }

    public func makeShardSubscriber(
        channels: [String], logger: Logger,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void,
        onSubscribed: @escaping @Sendable () -> Void
    ) -> any RedisShardSubscription {
        DeferredShardSubscription(owner: self, channels: channels, logger: logger, onMessage: onMessage, onSubscribed: onSubscribed)
    }

    /// Waits for the detection; nil when the task is cancelled or the deployment shut down.
    fileprivate func detectedDeployment() async -> (any RedisDeployment)? {
        while !Task.isCancelled {
            if let deployment { return deployment }
            if state.withLock({ $0.isShutDown }) { return nil }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return nil
    }
}

/// A subscription asked for before the deployment is known: it starts once it is.
private final class DeferredShardSubscription: RedisShardSubscription {
    private let owner: RedisAutoDeployment
    private let channels: [String]
    private let logger: Logger
    private let onMessage: @Sendable (String, [UInt8]) -> Void
    private let onSubscribed: @Sendable () -> Void
    private let subscription = Mutex<(any RedisShardSubscription)?>(nil)

    init(
        owner: RedisAutoDeployment, channels: [String], logger: Logger,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void, onSubscribed: @escaping @Sendable () -> Void
    ) {
        self.owner = owner
        self.channels = channels
        self.logger = logger
        self.onMessage = onMessage
        self.onSubscribed = onSubscribed
    }

    var isConnected: Bool { subscription.withLock { $0?.isConnected ?? false } }

    func run() async {
        guard let deployment = await owner.detectedDeployment() else { return }
        let inner = deployment.makeShardSubscriber(channels: channels, logger: logger, onMessage: onMessage, onSubscribed: onSubscribed)
        subscription.withLock { $0 = inner }
        await inner.run()
    }
}
