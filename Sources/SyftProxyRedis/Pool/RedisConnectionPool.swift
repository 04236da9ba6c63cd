import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A fixed number of pipelined connections shared by any number of callers.
///
/// `run()` keeps every connection up, reconnecting with backoff. While none is up, calls fail
/// at once with `RedisError.unavailable` instead of queueing behind a reconnect, so a server in
/// front of it can answer "unavailable" immediately; once Redis is back, calls work again by
/// themselves.
public final class RedisConnectionPool: Sendable {
    public let configuration: RedisConfiguration
    public let connectionCount: Int
    let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let state: Mutex<State>
    /// Behind Sentinel: when a command last met a demoted master (`READONLY`) or a connection
    /// to the master dropped (Sentinel kills the old master's clients when it fails over); see
    /// ``followingFailover(_:)``.
    let failoverSuspectedAt = Mutex<ContinuousClock.Instant?>(nil)
    private let shutdownSignal = AsyncStream.makeStream(of: Never.self)
    /// Told when a connection that was up drops: a cluster client refreshes its slot map then.
    private let onConnectionLost: @Sendable () -> Void

    private struct State {
        var connections: [RedisConnection?]
        var next = 0
        var isRunning = false
        var isShutDown = false
        var hasConnected = false
    }

    public convenience init(
        configuration: RedisConfiguration, connectionCount: Int = 4,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger
    ) {
        self.init(configuration: configuration, connectionCount: connectionCount, eventLoopGroup: eventLoopGroup, logger: logger, onConnectionLost: {})
    }

    init(
        configuration: RedisConfiguration, connectionCount: Int, eventLoopGroup: any EventLoopGroup, logger: Logger,
        onConnectionLost: @escaping @Sendable () -> Void
    ) {
        self.onConnectionLost = onConnectionLost
        self.configuration = configuration
        self.connectionCount = max(1, connectionCount)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.state = Mutex(State(connections: Array(repeating: nil, count: max(1, connectionCount))))
    }

    /// How many connections are up right now.
    public var connectedCount: Int {
        state.withLock { $0.connections.reduce(0) { $0 + ($1?.isActive == true ? 1 : 0) } }
    }

    /// True once any connection has been up: a pool still making its first connections is
    /// not a sign that its Redis is down.
    var hasConnected: Bool { state.withLock { $0.hasConnected } }

    /// Keeps every connection up until the task is cancelled or `shutdown()` is called, then
    /// closes them. Shaped like swift-service-lifecycle's `Service.run()`; runs once per pool.
    public func run() async {
        let firstRun = state.withLock { state in
            defer { state.isRunning = true }
            return !state.isRunning && !state.isShutDown
        }
        guard firstRun else {
            logger.warning("RedisConnectionPool.run() called twice or after shutdown; ignored")
            return
        }
        let shutdownRequested = shutdownSignal.stream
        await withTaskGroup(of: Void.self) { group in
            for slot in 0..<connectionCount {
                group.addTask { await self.maintain(slot: slot) }
            }
            // Ends on shutdown() or on cancellation, whichever comes first.
            group.addTask { for await _ in shutdownRequested {} }
            await group.next()
            group.cancelAll()
        }
    }

    /// Closes every connection and stops `run()`. Later calls fail with `connectionClosed`.
    public func shutdown() async {
        let connections = state.withLock { state in
            state.isShutDown = true
            defer { state.connections = Array(repeating: nil, count: state.connections.count) }
            return state.connections.compactMap { $0 }
        }
        shutdownSignal.continuation.finish()
        for connection in connections { await connection.close() }
    }

    /// Like `shutdown()` without waiting: `run()` ends and closes the connections on its way
    /// out. For a cluster node that left the slot map.
    func shutdownSoon() {
        state.withLock { $0.isShutDown = true }
        shutdownSignal.continuation.finish()
    }

    /// Sends on one of the live connections, taken in turn.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await connection().send(command)
    }

    /// Throws `RedisError.unavailable` at once when no connection is up.
    public func ping() async throws {
        _ = try await send(RedisCommand("PING"))
    }

    /// The next live connection in round-robin order. Connections carry their own queues, so
    /// taking turns spreads load evenly without tracking what each has pending.
    func connection() throws -> RedisConnection {
        let picked = state.withLock { state -> RedisConnection? in
            for _ in 0..<state.connections.count {
                let index = state.next % state.connections.count
                state.next &+= 1
                if let connection = state.connections[index], connection.isActive { return connection }
            }
            return nil
        }
        if let picked { return picked }
        if state.withLock({ $0.isShutDown }) {
            throw RedisError.connectionClosed("the connection pool to Redis at \(configuration.endpointDescription) was shut down")
        }
        throw RedisError.unavailable("Redis at \(configuration.endpointDescription) is unreachable: none of the \(connectionCount) connections is up")
    }

    // MARK: Maintenance

    /// One slot's life: connect, wait for the connection to drop, back off, reconnect.
    private func maintain(slot: Int) async {
        var backoff = ReconnectBackoff()
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
                let kept = state.withLock { state in
                    guard !state.isShutDown else { return false }
                    state.connections[slot] = connection
                    state.hasConnected = true
                    return true
                }
                guard kept else {
                    await connection.close()
                    return
                }
                if failures > 0, slot == 0 {
                    logger.info("Redis reachable again", metadata: ["redis": "\(configuration.endpointDescription)"])
                }
                failures = 0
                backoff.reset()
                await withTaskCancellationHandler {
                    try? await connection.closeFuture.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
                let lost = state.withLock { state in
                    if state.connections[slot] === connection { state.connections[slot] = nil }
                    return !state.isShutDown
                }
                if lost, !Task.isCancelled {
                    if configuration.sentinel != nil { failoverSuspectedAt.withLock { $0 = .now } }
                    onConnectionLost()
                }
            } catch {
                failures += 1
                // One line per outage rather than one per slot and attempt.
                if failures == 1, slot == 0 {
                    logger.warning("Redis unreachable; reconnecting with backoff", metadata: ["redis": "\(configuration.endpointDescription)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: backoff.next())
        }
    }
}
