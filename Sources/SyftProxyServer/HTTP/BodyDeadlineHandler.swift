import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// PROXY_BODY_TIMEOUT: a request's body must arrive within this many seconds of its head.
/// Hummingbird's idle timeout only notices a connection that sends nothing at all; a client
/// that trickles a body a byte at a time keeps it from ever firing, and holds a connection
/// and a handler for as long as it likes. This handler (one per connection, between the
/// HTTP codec and Hummingbird) starts a timer at each request head and stops it at the end
/// of the body. When it fires, the client gets 408 if no answer has started, and the
/// connection is closed either way.
final class BodyDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private let seconds: Double
    private var timer: Scheduled<Void>?
    /// Whether the answer to the request being read has started (a route may answer, say
    /// 401, before the body it never reads has arrived).
    private var answering = false

    init(seconds: Double) {
        self.seconds = seconds
        self.timeout = .nanoseconds(Int64(seconds * 1_000_000_000))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            answering = false
            arm(context)
        case .body:
            break
        case .end:
            timer?.cancel()
            timer = nil
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .head = unwrapOutboundIn(data), timer != nil { answering = true }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
    }

    private func arm(_ context: ChannelHandlerContext) {
        timer?.cancel()
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { self.expire(context) }
    }

    private func expire(_ context: ChannelHandlerContext) {
        timer = nil
        guard context.channel.isActive else { return }
        guard !answering else {
            context.close(promise: nil)
            return
        }
        var body = ByteBuffer()
        body.writeString(#"{"detail":"the request body did not arrive within \#(Self.format(seconds)) s of its head (PROXY_BODY_TIMEOUT); the connection is closed"}"#)
        let head = HTTPResponse(status: .requestTimeout, headerFields: [
            .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let written = context.eventLoop.makePromise(of: Void.self)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: written)
        written.futureResult.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
    }

    private static func format(_ seconds: Double) -> String {
        seconds == seconds.rounded() ? String(Int(seconds)) : String(seconds)
    }
}
