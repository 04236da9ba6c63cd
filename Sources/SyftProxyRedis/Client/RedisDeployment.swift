import Logging

/// Sends commands to whichever node holds their keys. A store written against this runs
/// unchanged on one Redis, behind Sentinel, or on a Redis Cluster.
public protocol RedisCommandExecutor: Sendable {
    /// Runs `command` on the node that owns `routingKey`'s slot; any node when nil.
    func send(_ command: RedisCommand, routingKey: String?) async throws -> RESPValue
    /// Runs `script` on the node that owns `keys`' slot. Every key must hash to one slot (give
    /// them one hash tag); a script with no keys runs on any node.
    func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue
}

/// A whole Redis deployment as one store sees it: commands, shard-channel subscriptions
/// (SSUBSCRIBE, each at the node that owns the channel's slot) and the shape it has.
public protocol RedisDeployment: RedisCommandExecutor {
    /// Keeps connections (and for a cluster the slot map) up until cancelled or shut down.
    func run() async
    func shutdown() async
    /// A subscription to shard channels; its handlers run on a connection's event loop and
    /// must return quickly. `onSubscribed` runs after every completed (re)subscription, as
    /// messages may have been missed before it.
    func makeShardSubscriber(
        channels: [String], logger: Logger,
        onMessage: @escaping @Sendable (_ channel: String, _ payload: [UInt8]) -> Void,
        onSubscribed: @escaping @Sendable () -> Void
    ) -> any RedisShardSubscription
    /// What the deployment looks like now, for readiness and server info.
    var topology: RedisTopology { get }
}

/// A running set of shard-channel subscriptions.
public protocol RedisShardSubscription: Sendable {
    /// Stays subscribed, across reconnects and slot moves, until the task is cancelled.
    func run() async
    /// True while every channel's subscription is up.
    var isConnected: Bool { get }
}

/// The shape of a deployment and how much of it is reachable.
public struct RedisTopology: Sendable, Equatable {
    public enum Mode: String, Sendable {
        case standalone, sentinel, cluster
        /// Not detected yet (`RedisAutoDeployment` before Redis first answered).
        case unknown
    }

    public var mode: Mode
    /// Masters known (1 without a cluster).
    public var nodes: Int
    /// Masters with at least one connection up.
    public var reachableNodes: Int

    public init(mode: Mode, nodes: Int, reachableNodes: Int) {
        self.mode = mode
        self.nodes = nodes
        self.reachableNodes = reachableNodes
    }

    /// Some, not all, masters are reachable: calls for the others' slots fail.
    public var isDegraded: Bool { reachableNodes > 0 && reachableNodes < nodes }
}
