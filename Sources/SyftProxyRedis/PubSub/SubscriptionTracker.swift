import Synchronization

/// What one subscriber connection has heard from Redis: which subscriptions it confirmed, and
/// when it last said anything. Fed on the connection's event loop; read by the keep-alive task.
final class SubscriptionTracker: Sendable {
    private struct State {
        var awaiting: Set<String> = []
        var announced = false
        var lastHeard = ContinuousClock.now
    }

    private let state = Mutex(State())
    private let reconnected: Bool
    private let messageKind: String
    private let confirmationKind: String
    private let droppedKind: String
    private let deliver: @Sendable (RedisSubscriberEvent) -> Void
    private let onDropped: @Sendable (String) -> Void

    init(reconnected: Bool, sharded: Bool = false, deliver: @escaping @Sendable (RedisSubscriberEvent) -> Void, onDropped: @escaping @Sendable (String) -> Void = { _ in }) {
        self.reconnected = reconnected
        self.messageKind = sharded ? "smessage" : "message"
        self.confirmationKind = sharded ? "ssubscribe" : "subscribe"
        // Only shard channels are dropped by the server on its own; "unsubscribe" answers us.
        self.droppedKind = sharded ? "sunsubscribe" : ""
        self.deliver = deliver
        self.onDropped = onDropped
    }

    /// True once `.subscribed` was reported for this connection.
    var announced: Bool { state.withLock { $0.announced } }

    /// The subscriptions whose confirmations complete this connection's set-up; with none,
    /// the set-up is complete now.
    func expect(_ channels: [String]) {
        let complete = state.withLock { state in
            state.awaiting = Set(channels)
            return state.awaiting.isEmpty && Self.markAnnounced(&state)
        }
        if complete { deliver(.subscribed(reconnected: reconnected)) }
    }

    func heard(since instant: ContinuousClock.Instant) -> Bool {
        state.withLock { $0.lastHeard >= instant }
    }

    /// Every push on the connection: messages, subscription confirmations, PING answers.
    func handle(_ push: RESPValue) {
        let now = ContinuousClock.now
        let parts = push.array ?? []
        let kind = parts.first?.string
        if kind == messageKind, parts.count == 3, let channel = parts[1].string, let payload = parts[2].bytes {
            deliver(.message(channel: channel, payload: payload))
        }
        let confirmed = kind == confirmationKind && parts.count == 3 ? parts[1].string : nil
        let dropped = kind == droppedKind && parts.count == 3 ? parts[1].string : nil
        let complete = state.withLock { state in
            state.lastHeard = now
            guard let confirmed, state.awaiting.remove(confirmed) != nil, state.awaiting.isEmpty else { return false }
            return Self.markAnnounced(&state)
        }
        if complete { deliver(.subscribed(reconnected: reconnected)) }
        if let dropped { onDropped(dropped) }
    }

    private static func markAnnounced(_ state: inout State) -> Bool {
        guard !state.announced else { return false }
        state.announced = true
        return true
    }
}
