import CHiredis
import DequeModule
import NIOCore

/// A command on its way to Redis and the promise its reply completes.
struct RedisRequest: Sendable {
    let bytes: ByteBuffer
    let promise: EventLoopPromise<RESPValue>?
}

/// Pipelining: commands are written as they come, replies complete promises in order.
/// In subscriber mode every reply goes to `onPush` instead (pub/sub messages are unsolicited).
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private var reader: HiredisReader?
    private var pending = Deque<(promise: EventLoopPromise<RESPValue>?, sentAt: NIODeadline)>()
    private let onPush: (@Sendable (RESPValue) -> Void)?
    private let commandTimeout: TimeAmount
    private var watchdog: RepeatedTask?

    init(commandTimeout: TimeAmount, onPush: (@Sendable (RESPValue) -> Void)? = nil) {
        self.commandTimeout = commandTimeout
        self.onPush = onPush
    }

    func handlerAdded(context: ChannelHandlerContext) {
        reader = try? HiredisReader()
        // One timer per connection, not per command: a hung Redis closes the connection,
        // which fails every waiting command.
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        let interval = TimeAmount.milliseconds(250)
        watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
            let (handler, context) = loopBound.value
            handler.checkOverdue(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        watchdog?.cancel()
        watchdog = nil
        failAll(RedisError.connectionClosed("the connection to Redis was closed"))
        reader = nil
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        guard context.channel.isActive else {
            request.promise?.fail(RedisError.connectionClosed("the connection to Redis is closed"))
            promise?.fail(ChannelError.ioOnClosedChannel)
            return
        }
        if onPush == nil { pending.append((request.promise, .now())) }
        context.write(wrapOutboundOut(request.bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        guard reader != nil else {
            context.close(promise: nil)
            return
        }
        do {
            try buffer.withUnsafeReadableBytes { bytes in try reader?.feed(bytes) }
            while let reply = try reader?.next() {
                if let onPush {
                    onPush(reply)
                } else if let head = pending.popFirst() {
                    if case .error(let message) = reply {
                        head.promise?.fail(RedisError.server(message))
                    } else {
                        head.promise?.succeed(reply)
                    }
                }
            }
        } catch {
            failAll(error)
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError.connectionClosed("Redis closed the connection"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failAll(RedisError.connectionClosed("\(error)"))
        context.close(promise: nil)
    }

    private func checkOverdue(context: ChannelHandlerContext) {
        guard let oldest = pending.first, oldest.sentAt + commandTimeout < .now() else { return }
        failAll(RedisError.timeout("no reply within \(commandTimeout.nanoseconds / 1_000_000) ms"))
        context.close(promise: nil)
    }

    private func failAll(_ error: any Error) {
        while let head = pending.popFirst() { head.promise?.fail(error) }
    }
}
