import NIOCore
import NIOPosix
import Synchronization
import SyftProxyTestSupport

/// A TCP server on 127.0.0.1 that answers every read with whatever `reply` returns (nothing
/// for nil): a stand-in for a misbehaving or hung Redis.
final class ScriptedServer: Sendable {
    private let channel: any Channel
    private let accepted: Counter
    let port: Int

    private init(channel: any Channel, port: Int, accepted: Counter) {
        self.channel = channel
        self.port = port
        self.accepted = accepted
    }

    /// How many connections the server has accepted so far.
    var acceptedConnections: Int { accepted.value }

    static func start(reply: @escaping @Sendable (ByteBuffer) -> [UInt8]?) async throws -> ScriptedServer {
        let accepted = Counter()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                accepted.increment()
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(reply: reply))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        guard let port = channel.localAddress?.port else { throw TestFailure("the scripted server has no port") }
        return ScriptedServer(channel: channel, port: port, accepted: accepted)
    }

    func stop() async {
        try? await channel.close()
    }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let reply: @Sendable (ByteBuffer) -> [UInt8]?

    init(reply: @escaping @Sendable (ByteBuffer) -> [UInt8]?) { self.reply = reply }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let bytes = reply(unwrapInboundIn(data)) else { return }
        context.writeAndFlush(wrapOutboundOut(context.channel.allocator.buffer(bytes: bytes)), promise: nil)
    }
}

final class Counter: Sendable {
    private let count = Mutex(0)
    var value: Int { count.withLock { $0 } }
    func increment() { count.withLock { $0 += 1 } }
}
