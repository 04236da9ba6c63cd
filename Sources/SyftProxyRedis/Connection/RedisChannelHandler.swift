import NIOCore

/// Owns one connection's hiredis reader and its queue of callers. Commands are written as
/// they come (pipelining); replies complete the callers in the order their commands were
/// written. Everything here runs on the channel's event loop.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private struct Waiter {
        let promise: EventLoopPromise<RESPValue>
        let writtenAt: NIODeadline
        let timeout: TimeAmount
    }

    private let endpoint: String
    private let watchdogInterval: TimeAmount
    private var context: ChannelHandlerContext?
    private var reader: HiredisReader?
    private var waiters = CircularBuffer<Waiter>(initialCapacity: 16)
    /// Why the connection ended; requests arriving later fail with it.
    private var closedError: RedisError?
    private var flushScheduled = false
    private var lastReplyAt = NIODeadline.now()
    private var watchdog: RepeatedTask?
    /// Subscriber mode: replies nobody waits for are pub/sub pushes and go here.
    private var onPush: (@Sendable (RESPValue) -> Void)?

    init(endpoint: String, commandTimeout: TimeAmount) {
        self.endpoint = endpoint
        // Often enough that a timeout fires at most a quarter late; rarely enough to cost nothing.
        self.watchdogInterval = .nanoseconds(min(max(commandTimeout.nanoseconds / 4, 5_000_000), 250_000_000))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        do {
            reader = try HiredisReader()
        } catch {
            close(with: error as? RedisError ?? .protocolError("\(error)"))
            return
        }
        // One timer per connection rather than one per command keeps the hot path free of
        // timer bookkeeping.
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        watchdog = context.eventLoop.scheduleRepeatedTask(initialDelay: watchdogInterval, delay: watchdogInterval) { _ in
            handler.value.failIfOverdue()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        shutDown(.connectionClosed("the connection to Redis at \(endpoint) was closed"))
        // Frees the C reader here, on the loop that used it.
        reader = nil
        self.context = nil
    }

    func channelInactive(context: ChannelHandlerContext) {
        shutDown(.connectionClosed("the connection to Redis at \(endpoint) closed (Redis stopped or the network dropped it)"))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(with: .connectionClosed("the connection to Redis at \(endpoint) failed: \(error)"))
    }

    // MARK: Writing

    func write(_ request: RedisRequest) {
        guard let context, closedError == nil else {
            request.promise?.fail(closedError ?? .connectionClosed("the connection to Redis at \(endpoint) is closed"))
            return
        }
        if let promise = request.promise {
            guard onPush == nil else {
                promise.fail(RedisError.invalidCommand("a subscriber connection delivers pub/sub messages, not replies; send commands through a pool"))
                return
            }
            waiters.append(Waiter(promise: promise, writtenAt: .now(), timeout: request.timeout))
        }
        context.write(wrapOutboundOut(request.bytes), promise: nil)
        scheduleFlush(context: context)
    }

    /// From now on, replies that no caller waits for go to `onPush`.
    func deliverPushes(to onPush: @escaping @Sendable (RESPValue) -> Void) {
        self.onPush = onPush
    }

    /// Many callers writing at once share one flush, and so one syscall: the flush runs after
    /// the writes already queued on the event loop.
    private func scheduleFlush(context: ChannelHandlerContext) {
        guard !flushScheduled else { return }
        flushScheduled = true
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        context.eventLoop.execute {
            handler.value.flushScheduled = false
            handler.value.context?.flush()
        }
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // After an error the rest of the stream cannot be matched to callers: ignore it.
        guard closedError == nil, let reader else { return }
        let buffer = unwrapInboundIn(data)
        do {
            try buffer.withUnsafeReadableBytes { try reader.feed($0) }
            var replied = false
            while let reply = try reader.next() {
                replied = true
                try deliver(reply)
            }
            if replied { lastReplyAt = .now() }
        } catch RedisError.protocolError(let detail) {
            close(with: .protocolError("Redis at \(endpoint) sent bytes hiredis cannot parse (\(detail))"))
        } catch {
            close(with: error as? RedisError ?? .protocolError("\(error)"))
        }
    }

    private func deliver(_ reply: RESPValue) throws {
        if let waiter = waiters.popFirst() {
            if case .error(let message) = reply {
                waiter.promise.fail(RedisError.server(message))
                // A master demoted by a failover refuses writes from then on: drop the
                // connection, so the next one goes to the current master.
                if message.hasPrefix("READONLY") {
                    throw RedisError.connectionClosed("Redis at \(endpoint) became a replica (READONLY); reconnecting to the current master")
                }
            } else {
                waiter.promise.succeed(reply)
            }
        } else if let onPush {
            onPush(reply)
        } else {
            throw RedisError.protocolError("Redis at \(endpoint) sent a reply no command asked for")
        }
    }

    // MARK: Ending

    private func failIfOverdue() {
        guard let head = waiters.first else { return }
        // Replies come in order, so the oldest caller's clock starts when Redis could start on
        // its command: when it was written or when the previous reply came, whichever is later.
        // A long queue behind a busy but live Redis therefore does not time out.
        guard max(head.writtenAt, lastReplyAt) + head.timeout < .now() else { return }
        close(with: .timeout("no reply from Redis at \(endpoint) within \(head.timeout.nanoseconds / 1_000_000) ms"))
    }

    private func close(with error: RedisError) {
        shutDown(error)
        context?.close(promise: nil)
    }

    /// Records why the connection ends, fails every waiting caller and stops the watchdog.
    private func shutDown(_ error: RedisError) {
        if closedError == nil { closedError = error }
        watchdog?.cancel()
        watchdog = nil
        let reason = closedError ?? error
        while let waiter = waiters.popFirst() { waiter.promise.fail(reason) }
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}
