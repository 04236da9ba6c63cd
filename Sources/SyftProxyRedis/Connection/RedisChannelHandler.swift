import NIOCore

/// Carries out what `RedisChannelStateMachine` decides for one connection: writes, one shared
/// flush, hiredis parsing, completing promises, closing. Everything here runs on the
/// channel's event loop.
final class RedisChannelHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var machine: RedisChannelStateMachine<EventLoopPromise<RESPValue>>
    private let watchdogInterval: TimeAmount
    private var context: ChannelHandlerContext?
    private var reader: HiredisReader?
    private var watchdog: RepeatedTask?
    /// Subscriber mode: replies nobody waits for are pub/sub pushes and go here.
    private var onPush: (@Sendable (RESPValue) -> Void)?

    init(endpoint: String, commandTimeout: TimeAmount, maximumPendingCommands: Int = RedisConfiguration.defaultMaximumPendingCommands) {
        self.machine = RedisChannelStateMachine(endpoint: endpoint, maximumPending: maximumPendingCommands)
        // Often enough that a timeout fires at most a quarter late; rarely enough to cost nothing.
        self.watchdogInterval = .nanoseconds(min(max(commandTimeout.nanoseconds / 4, 5_000_000), 250_000_000))
    }

    private var endpoint: String { machine.endpoint }

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
        enqueue([RedisChannelStateMachine.Command(id: request.id, bytes: request.bytes, promise: request.promise, timeout: request.timeout)])
    }

    /// Writes the requests back to back in one write, so no other caller's command comes
    /// between them (`ASKING` and the command it is for).
    func write(batch: [RedisRequest]) {
        enqueue(batch.map { RedisChannelStateMachine.Command(id: $0.id, bytes: $0.bytes, promise: $0.promise, timeout: $0.timeout) })
    }

    func cancel(id: UInt64) {
        for promise in machine.cancel(id: id) { promise.fail(CancellationError()) }
    }

    /// From now on, replies that no caller waits for go to `onPush`.
    func deliverPushes(to onPush: @escaping @Sendable (RESPValue) -> Void) {
        self.onPush = onPush
        machine.deliverPushes()
    }

    private func enqueue(_ commands: [RedisChannelStateMachine<EventLoopPromise<RESPValue>>.Command]) {
        switch machine.enqueue(commands) {
        case .none:
            break
        case .fail(let promises, let error):
            for promise in promises { promise.fail(error) }
        case .scheduleFlush:
            guard let context else {
                shutDown(.connectionClosed("the connection to Redis at \(endpoint) is closed"))
                return
            }
            // Many callers writing at once share one flush, and so one syscall: it runs after
            // the writes already queued on the event loop.
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            context.eventLoop.execute { handler.value.flush() }
        }
    }

    private func flush() {
        guard let context else { return }
        let buffers = machine.flush(now: context.eventLoop.now)
        guard !buffers.isEmpty else { return }
        for buffer in buffers { context.write(wrapOutboundOut(buffer), promise: nil) }
        context.flush()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard let reader else { return }
        let buffer = unwrapInboundIn(data)
        do {
            try buffer.withUnsafeReadableBytes { try reader.feed($0) }
            while let reply = try reader.next() {
                guard perform(machine.receive(reply, now: context.eventLoop.now)) else { return }
            }
        } catch RedisError.protocolError(let detail) {
            close(with: .protocolError("Redis at \(endpoint) sent bytes hiredis cannot parse (\(detail))"))
        } catch {
            close(with: error as? RedisError ?? .protocolError("\(error)"))
        }
    }

    /// Returns false once the connection is ending: later replies are not read.
    private func perform(_ action: RedisChannelStateMachine<EventLoopPromise<RESPValue>>.ReplyAction) -> Bool {
        switch action {
        case .succeed(let promise, let value):
            promise.succeed(value)
        case .fail(let promise, let error):
            promise.fail(error)
        case .discard:
            break
        case .push(let value):
            onPush?(value)
        case .failAndClose(let promise, let error, let reason):
            promise?.fail(error)
            close(with: reason)
            return false
        case .close(let reason):
            closeChannel(reason)
            return false
        case .ignore:
            return false
        }
        return true
    }

    // MARK: Ending

    private func failIfOverdue() {
        guard let context, let error = machine.overdue(now: context.eventLoop.now) else { return }
        close(with: error)
    }

    private func close(with error: RedisError) {
        if case .close(let reason) = machine.close(error) { closeChannel(reason) }
    }

    private func closeChannel(_ reason: RedisError) {
        shutDown(reason)
        context?.close(promise: nil)
    }

    /// Fails every waiting caller and stops the watchdog.
    private func shutDown(_ error: RedisError) {
        watchdog?.cancel()
        watchdog = nil
        for (promise, reason) in machine.failAll(error) { promise.fail(reason) }
    }
}

@available(*, unavailable)
extension RedisChannelHandler: Sendable {}
