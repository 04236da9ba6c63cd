import Logging
import NIOCore
import NIOPosix

/// One TCP connection to Redis. Any number of tasks may send at once: commands are
/// pipelined and each caller gets its own reply.
public final class RedisConnection: Sendable {
    let channel: any Channel

    init(channel: any Channel) { self.channel = channel }

    public var isActive: Bool { channel.isActive }

    /// Completes when the connection closes, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    public static func connect(
        configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger,
        onPush: (@Sendable (RESPValue) -> Void)? = nil
    ) async throws -> RedisConnection {
        let timeout = TimeAmount.nanoseconds(Int64(configuration.commandTimeout.components.seconds) * 1_000_000_000 + configuration.commandTimeout.components.attoseconds / 1_000_000_000)
        let connectTimeout = TimeAmount.milliseconds(Int64(configuration.connectTimeout.components.seconds) * 1000 + configuration.connectTimeout.components.attoseconds / 1_000_000_000_000_000)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connectTimeout(connectTimeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(RedisChannelHandler(commandTimeout: timeout, onPush: onPush))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            throw RedisError.unavailable("cannot connect to \(configuration.endpointDescription) (\(error))")
        }
        let connection = RedisConnection(channel: channel)
        do {
            if let password = configuration.password {
                let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try await connection.send(RedisCommand(auth))
            }
            if configuration.database != 0 {
                _ = try await connection.send(RedisCommand("SELECT", String(configuration.database)))
            }
        } catch {
            await connection.close()
            throw error
        }
        logger.debug("connected to Redis", metadata: ["redis": "\(configuration.endpointDescription)"])
        return connection
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        var buffer = channel.allocator.buffer(capacity: 64)
        try command.encode(into: &buffer)
        guard channel.isActive else { throw RedisError.connectionClosed("the connection to Redis is closed") }
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        // A failed write closes the channel, and closing fails every pending promise, this one included.
        channel.writeAndFlush(RedisRequest(bytes: buffer, promise: promise), promise: nil)
        return try await promise.futureResult.get()
    }

    /// Writes without waiting for a reply; for subscriber connections, whose replies are pushes.
    func sendWithoutReply(_ command: RedisCommand) async throws {
        var buffer = channel.allocator.buffer(capacity: 64)
        try command.encode(into: &buffer)
        try await channel.writeAndFlush(RedisRequest(bytes: buffer, promise: nil))
    }

    public func close() async {
        try? await channel.close()
    }
}
