import Logging
import NIOCore
import NIOPosix

/// One dedicated connection subscribed to `channels`, reconnecting with backoff on its own.
/// `onMessage` receives each message; `onSubscribed` runs each time the subscription is
/// (re)established, so its owner can re-check anything it may have missed meanwhile.
public final class RedisSubscriber: Sendable {
    private let configuration: RedisConfiguration
    private let channels: [String]
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let onMessage: @Sendable (String, [UInt8]) -> Void
    private let onSubscribed: @Sendable () -> Void

    public init(
        configuration: RedisConfiguration, channels: [String], eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger, onMessage: @escaping @Sendable (String, [UInt8]) -> Void, onSubscribed: @escaping @Sendable () -> Void = {}
    ) {
        self.configuration = configuration
        self.channels = channels
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.onMessage = onMessage
        self.onSubscribed = onSubscribed
    }

    public func run() async {
        var backoff = ReconnectBackoff()
        while !Task.isCancelled {
            do {
                let onMessage = self.onMessage
                let onSubscribed = self.onSubscribed
                let connection = try await RedisConnection.connect(
                    configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger,
                    onPush: { reply in
                        guard let parts = reply.array, let kind = parts.first?.string else { return }
                        if kind == "message", parts.count == 3, let channel = parts[1].string, case .bulkString(let payload) = parts[2] {
                            onMessage(channel, payload)
                        } else if kind == "subscribe" {
                            onSubscribed()
                        }
                    })
                try await connection.sendWithoutReply(RedisCommand(["SUBSCRIBE"] + channels))
                backoff.reset()
                await withTaskCancellationHandler {
                    try? await connection.closeFuture.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
            } catch {
                logger.debug("Redis subscription down; retrying", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: backoff.next())
        }
    }
}
