import Logging

extension RedisClusterClient: RedisDeployment {
    public func makeShardSubscriber(
        channels: [String], logger: Logger,
        onMessage: @escaping @Sendable (String, [UInt8]) -> Void,
        onSubscribed: @escaping @Sendable () -> Void
    ) -> any RedisShardSubscription {
        RedisClusterShardSubscriber(client: self, channels: channels, logger: logger, onMessage: onMessage, onSubscribed: onSubscribed)
    }
}
