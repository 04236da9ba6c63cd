import Logging
import Synchronization

/// Shard-channel subscriptions across a Redis Cluster: one sharded `RedisSubscriber` per
/// master, for the channels whose slots it owns. When the slot map changes, or a master drops
/// a subscription itself (`sunsubscribe`: the slot moved away), the channels are assigned
/// again, so messages keep coming after a reshard or a failover.
final class RedisClusterShardSubscriber: RedisShardSubscription {
    private let client: RedisClusterClient
    private let channels: [String]
    private let logger: Logger
    private let onMessage: @Sendable (String, [UInt8]) -> Void
    private let onSubscribed: @Sendable () -> Void
    private let state = Mutex(State())

    private struct State {
        var subscribers: [RedisEndpoint: RedisSubscriber] = [:]
        var confirmed: Set<RedisEndpoint> = []
        /// Some channel's slot has no master in the map.
        var unassigned = true
        var dropped = false
    }

    /// Channels grouped by the master that owns their slot; nil for a channel with no owner.
    typealias Assignment = [RedisEndpoint: [String]]

    init(
        client: RedisClusterClient, channels: [String], logger: Logger,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void, onSubscribed: @escaping @Sendable () -> Void
    ) {
        self.client = client
        self.channels = Array(Set(channels)).sorted()
        self.logger = logger
        self.onMessage = onMessage
        self.onSubscribed = onSubscribed
    }

    var isConnected: Bool {
        state.withLock { state in
            !state.unassigned && state.confirmed.count == state.subscribers.count
                && state.subscribers.values.allSatisfy(\.isConnected)
        }
    }

    func run() async {
        while !Task.isCancelled {
            let (assignment, complete) = client.assignment(of: channels)
            let subscribers = Dictionary(uniqueKeysWithValues: assignment.map { endpoint, channels in
                (endpoint, makeSubscriber(endpoint: endpoint, channels: channels))
            })
            state.withLock { state in
                state.subscribers = subscribers
                state.confirmed = []
                state.unassigned = !complete
                state.dropped = false
            }
            await withTaskGroup(of: Void.self) { group in
                for subscriber in subscribers.values { group.addTask { await subscriber.run() } }
                // Subscribers run until cancelled: the first task to end is this watcher.
                group.addTask { await self.waitForReassignment(from: assignment, complete: complete) }
                await group.next()
                group.cancelAll()
            }
        }
    }

    private func makeSubscriber(endpoint: RedisEndpoint, channels: [String]) -> RedisSubscriber {
        let onMessage = self.onMessage
        return RedisSubscriber(
            configuration: client.nodeConfiguration(endpoint), channels: channels, sharded: true, eventLoopGroup: client.eventLoopGroup,
            logger: logger,
            deliver: { [weak self] event in
                switch event {
                case .message(let channel, let payload): onMessage(channel, payload)
                case .subscribed: self?.confirm(endpoint)
                }
            }, finish: {},
            onShardDropped: { [weak self] _ in
                self?.state.withLock { $0.dropped = true }
                self?.client.requestRefresh()
            })
    }

    /// Every master's subscriptions are up: report it, and again after each re-subscription.
    private func confirm(_ endpoint: RedisEndpoint) {
        let complete = state.withLock { state in
            guard state.subscribers[endpoint] != nil else { return false }
            state.confirmed.insert(endpoint)
            return !state.unassigned && state.confirmed.count == state.subscribers.count
        }
        if complete { onSubscribed() }
    }

    /// Returns when the channels should be assigned again.
    private func waitForReassignment(from current: Assignment, complete: Bool) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
            let (now, nowComplete) = client.assignment(of: channels)
            if now != current || nowComplete != complete { return }
            if state.withLock({ $0.dropped }) {
                // The map may not know of the move yet; the refresh asked for will tell.
                logger.debug("a Redis Cluster node dropped a shard subscription; waiting for the slot map to follow")
            }
        }
    }
}

extension RedisClusterClient {
    /// Where each channel's slot lives now; `complete` is false while some slot has no master.
    func assignment(of channels: [String]) -> (RedisClusterShardSubscriber.Assignment, complete: Bool) {
        state.withLock { state in
            var assignment: RedisClusterShardSubscriber.Assignment = [:]
            var complete = true
            for channel in channels {
                guard let pool = state.slots[RedisHashSlot.slot(of: channel)] else {
                    complete = false
                    continue
                }
                assignment[RedisEndpoint(host: pool.configuration.host, port: pool.configuration.port), default: []].append(channel)
            }
            return (assignment, complete)
        }
    }
}
