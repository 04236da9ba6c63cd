import Logging
import NIOCore
import NIOPosix
import Synchronization

/// Pub/sub on one dedicated connection. `run()` connects, subscribes, and after any drop
/// reconnects with backoff and subscribes again on its own, reporting each completed
/// subscription as `.subscribed(reconnected:)` so its user can re-check what it may have missed.
///
/// Events are delivered on the connection's event loop: handlers must return quickly and never
/// block. `makeStream` hands them to an `AsyncStream` instead.
public final class RedisSubscriber: Sendable {
    public let configuration: RedisConfiguration
    /// Shard channels (SSUBSCRIBE, Redis 7) instead of global ones (SUBSCRIBE).
    public let sharded: Bool
    private let eventLoopGroup: any EventLoopGroup
    let logger: Logger
    private let deliver: @Sendable (RedisSubscriberEvent) -> Void
    private let finish: @Sendable () -> Void
    /// Told when Redis drops a shard subscription that is still wanted (its slot moved).
    private let onShardDropped: @Sendable (String) -> Void
    private let state: Mutex<State>

    private struct State {
        var channels: [String]
        var connection: RedisConnection?
        var isRunning = false
    }

    public convenience init(
        configuration: RedisConfiguration, channels: [String] = [], sharded: Bool = false,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onEvent: @escaping @Sendable (RedisSubscriberEvent) -> Void
    ) {
        self.init(configuration: configuration, channels: channels, sharded: sharded, eventLoopGroup: eventLoopGroup, logger: logger, deliver: onEvent, finish: {})
    }

    /// `onSubscribed` runs after every completed (re)subscription.
    public convenience init(
        configuration: RedisConfiguration, channels: [String] = [], sharded: Bool = false,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        onMessage: @escaping @Sendable (_ channel: String, _ payload: [UInt8]) -> Void,
        onSubscribed: @escaping @Sendable () -> Void = {}
    ) {
        self.init(configuration: configuration, channels: channels, sharded: sharded, eventLoopGroup: eventLoopGroup, logger: logger) { event in
            switch event {
            case .message(let channel, let payload): onMessage(channel, payload)
            case .subscribed: onSubscribed()
            }
        }
    }

    init(
        configuration: RedisConfiguration, channels: [String], sharded: Bool = false, eventLoopGroup: any EventLoopGroup, logger: Logger,
        deliver: @escaping @Sendable (RedisSubscriberEvent) -> Void, finish: @escaping @Sendable () -> Void,
        onShardDropped: @escaping @Sendable (String) -> Void = { _ in }
    ) {
        self.onShardDropped = onShardDropped
        self.configuration = configuration
        self.sharded = sharded
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.deliver = deliver
        self.finish = finish
        self.state = Mutex(State(channels: Self.unique(channels)))
    }

    /// A subscriber whose events arrive on a stream, which finishes when `run()` returns.
    /// The stream buffers without bound unless told otherwise: keep consuming it.
    public static func makeStream(
        configuration: RedisConfiguration, channels: [String] = [], sharded: Bool = false,
        eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger,
        bufferingPolicy: AsyncStream<RedisSubscriberEvent>.Continuation.BufferingPolicy = .unbounded
    ) -> (subscriber: RedisSubscriber, events: AsyncStream<RedisSubscriberEvent>) {
        let (events, continuation) = AsyncStream.makeStream(of: RedisSubscriberEvent.self, bufferingPolicy: bufferingPolicy)
        let subscriber = RedisSubscriber(
            configuration: configuration, channels: channels, sharded: sharded, eventLoopGroup: eventLoopGroup, logger: logger,
            deliver: { continuation.yield($0) }, finish: { continuation.finish() })
        return (subscriber, events)
    }

    /// The channels subscribed now or on the next connection.
    public var channels: [String] { state.withLock { $0.channels } }

    public var isConnected: Bool { state.withLock { $0.connection?.isActive == true } }

    /// Adds channels: subscribed at once when connected, otherwise on the next connection.
    public func subscribe(channels: [String]) {
        let (connection, added) = state.withLock { state in
            let added = Self.unique(channels).filter { !state.channels.contains($0) }
            state.channels += added
            return (state.connection, added)
        }
        guard !added.isEmpty, let connection else { return }
        // A failed write closes the connection, and the next one subscribes to everything.
        for command in subscribeCommands(added) { try? connection.post(command) }
    }

    public func unsubscribe(channels: [String]) {
        let (connection, removed) = state.withLock { state in
            let removed = state.channels.filter { channels.contains($0) }
            state.channels.removeAll { channels.contains($0) }
            return (state.connection, removed)
        }
        guard !removed.isEmpty, let connection else { return }
        let verb = sharded ? "SUNSUBSCRIBE" : "UNSUBSCRIBE"
        try? connection.post(RedisCommand([verb] + removed))
    }

    /// Stays subscribed until the task is cancelled.
    public func run() async {
        let firstRun = state.withLock { state in
            defer { state.isRunning = true }
            return !state.isRunning
        }
        guard firstRun else {
            logger.warning("RedisSubscriber.run() is already running; ignored")
            return
        }
        defer {
            state.withLock { $0.isRunning = false }
            finish()
        }
        var backoff = ReconnectBackoff()
        var subscribedBefore = false
        var failures = 0
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
                let tracker = SubscriptionTracker(reconnected: subscribedBefore, sharded: sharded, deliver: deliver) { [weak connection] channel in
                    // Redis dropped a shard subscription we still want (its slot moved to
                    // another node): a new connection subscribes again wherever it is now.
                    guard self.channels.contains(channel) else { return }
                    self.onShardDropped(channel)
                    connection?.channel.close(promise: nil)
                }
                // Pushes are routed before the connection is shared, so no confirmation of a
                // concurrent `subscribe(channels:)` can arrive unrouted.
                connection.deliverPushes { tracker.handle($0) }
                let channels = state.withLock { state in
                    state.connection = connection
                    return state.channels
                }
                tracker.expect(channels)
                for command in subscribeCommands(channels) { try connection.post(command) }
                if failures > 0 { logger.info("Redis subscription connection restored", metadata: ["redis": "\(configuration.endpointDescription)"]) }
                failures = 0
                backoff.reset()
                await watch(connection, tracker: tracker)
                subscribedBefore = subscribedBefore || tracker.announced
                state.withLock { state in
                    if state.connection === connection { state.connection = nil }
                }
            } catch {
                failures += 1
                if failures == 1 {
                    logger.warning("Redis subscription down; reconnecting with backoff", metadata: ["redis": "\(configuration.endpointDescription)", "error": "\(error)"])
                }
            }
            try? await Task.sleep(for: backoff.next())
        }
    }

    /// A shard channel is subscribed on its own: one SSUBSCRIBE may only name channels of one
    /// slot on a cluster.
    private func subscribeCommands(_ channels: [String]) -> [RedisCommand] {
        guard !channels.isEmpty else { return [] }
        if sharded { return channels.map { RedisCommand("SSUBSCRIBE", $0) } }
        return [RedisCommand(["SUBSCRIBE"] + channels)]
    }

    private static func unique(_ channels: [String]) -> [String] {
        var seen = Set<String>()
        return channels.filter { seen.insert($0).inserted }
    }
}
