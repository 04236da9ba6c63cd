import NIOCore

/// PROXY_IDLE_TIMEOUT for a connection's first request head on the upgrade-capable
/// pipeline: a client that sends nothing, or trickles its headers, is closed when the time
/// passes. The channel removes this handler once the head is in and the upgrade decided;
/// from then on HTTP's own idle timeout or the socket's pings take over.
final class HeadDeadlineHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let timeout: TimeAmount?
    private var timer: Scheduled<Void>?

    init(timeout: TimeAmount?) {
        self.timeout = timeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        guard let timeout else { return }
        let channel = context.channel
        timer = context.eventLoop.scheduleTask(in: timeout) { channel.close(promise: nil) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }
}
