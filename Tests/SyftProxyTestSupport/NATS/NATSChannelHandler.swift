import NIOCore

/// The connection's state, on its event loop: frames in, protocol answers (PONG) out,
/// deliveries to subscriptions, and one flush per loop tick for all writes queued in it, so
/// that many requests in flight share syscalls the way NATS clients' write buffers do.
final class NATSChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let endpoint: String
    private let eventLoop: any EventLoop
    private var reader = NATSFrameReader()
    private var context: ChannelHandlerContext?
    private var flushScheduled = false
    private var info: EventLoopPromise<String>?
    private var pongs = CircularBuffer<EventLoopPromise<Void>>()
    private var subscriptions: [UInt64: @Sendable (NATSMessage) -> Void] = [:]
    private var closeObservers: [@Sendable (NATSError) -> Void] = []
    /// Why the connection ended, once it has: the first failure wins over the close it causes.
    private var failure: NATSError?
    private var closed = false

    init(endpoint: String, eventLoop: any EventLoop, info: EventLoopPromise<String>) {
        self.endpoint = endpoint
        self.eventLoop = eventLoop
        self.info = info
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        reader.append(unwrapInboundIn(data))
        do throws(NATSError) {
            while let frame = try reader.next() { handle(frame) }
        } catch {
            fail(error)
        }
    }

    private func handle(_ frame: NATSFrame) {
        switch frame {
        case .info(let json):
            // Later INFOs announce cluster changes, which a single server never has.
            info?.succeed(json)
            info = nil
        case .ping:
            send(ByteBuffer(string: "PONG\r\n"))
        case .pong:
            pongs.popFirst()?.succeed(())
        case .ok:
            break
        case .error(let message):
            fail(.server(message))
        case .message(let message):
            subscriptions[message.sid]?(message)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        let error = failure ?? .connectionClosed(endpoint)
        info?.fail(error)
        info = nil
        while let pong = pongs.popFirst() { pong.fail(error) }
        // Dropping the closures also drops whatever they hold, such as the connection itself.
        subscriptions = [:]
        let observers = closeObservers
        closeObservers = []
        for observer in observers { observer(error) }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(.connectionClosed("\(endpoint) (\(error))"))
    }

    /// Records why and closes; everything waiting fails with this reason.
    func fail(_ error: NATSError) {
        if failure == nil { failure = error }
        context?.close(promise: nil)
    }

    func send(_ buffer: ByteBuffer) {
        guard let context, !closed else { return }
        context.write(wrapOutboundOut(buffer), promise: nil)
        guard !flushScheduled else { return }
        flushScheduled = true
        eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    /// PING, completed by its PONG: the server has then processed everything sent before it.
    func ping() -> EventLoopFuture<Void> {
        guard !closed else { return eventLoop.makeFailedFuture(failure ?? .connectionClosed(endpoint)) }
        let promise = eventLoop.makePromise(of: Void.self)
        pongs.append(promise)
        send(ByteBuffer(string: "PING\r\n"))
        return promise.futureResult
    }

    func subscribe(sid: UInt64, command: ByteBuffer, _ onMessage: @escaping @Sendable (NATSMessage) -> Void) -> EventLoopFuture<Void> {
        guard !closed else { return eventLoop.makeFailedFuture(failure ?? .connectionClosed(endpoint)) }
        subscriptions[sid] = onMessage
        send(command)
        return ping()
    }

    /// Called with the reason once the connection closes; at once if it already has.
    func onClose(_ observer: @escaping @Sendable (NATSError) -> Void) {
        if closed { observer(failure ?? .connectionClosed(endpoint)) } else { closeObservers.append(observer) }
    }
}
