import Logging

/// One Redis (or the master Sentinel names): every key lives on it.
extension RedisConnectionPool: RedisDeployment {
    public func send(_ command: RedisCommand, routingKey: String?) async throws -> RESPValue {
        try await followingFailover { try await send(command) }
    }

    public func makeShardSubscriber(
        channels: [String], logger: Logger,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void,
        onSubscribed: @escaping @Sendable () -> Void
    ) -> any RedisShardSubscription {
        RedisSubscriber(
            configuration: configuration, channels: channels, sharded: true, eventLoopGroup: eventLoopGroup, logger: logger,
            onMessage: onMessage, onSubscribed: onSubscribed)
    }

    public var topology: RedisTopology {
        RedisTopology(mode: configuration.sentinel == nil ? .standalone : .sentinel, nodes: 1, reachableNodes: connectedCount > 0 ? 1 : 0)
    }
}

extension RedisSubscriber: RedisShardSubscription {}
