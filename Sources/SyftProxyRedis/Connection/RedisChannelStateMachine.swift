import NIOCore

/// One connection's state and queue of commands, without I/O: every event goes in as a call
/// and comes out as an action the channel handler carries out. Generic over the promise so it
/// can be tested as a plain value.
///
/// Commands pass through two queues. `unwritten` holds what callers handed over since the
/// last flush: a cancelled command there is simply dropped. `awaiting` holds what went out on
/// the wire, in order; a cancelled command there keeps its place (its reply still comes and
/// must be matched) but has no promise left.
struct RedisChannelStateMachine<Promise> {
    struct Command {
        let id: UInt64
        let bytes: ByteBuffer
        /// Nil for commands answered by pushes (SUBSCRIBE, PING on a subscriber).
        let promise: Promise?
        let timeout: TimeAmount
    }

    private struct Awaiting {
        let id: UInt64
        var promise: Promise?
        let writtenAt: NIODeadline
        let timeout: TimeAmount
    }

    enum State {
        case active
        /// A close was asked for; the channel has not reported it closed yet.
        case closing(RedisError)
        case closed(RedisError)
    }

    private(set) var state: State = .active
    private var unwritten: [Command] = []
    private var awaiting = CircularBuffer<Awaiting>(initialCapacity: 16)
    private var flushScheduled = false
    private var lastReplyAt: NIODeadline
    /// Subscriber mode: replies nobody waits for are pushes.
    private(set) var deliversPushes = false
    let endpoint: String
    let maximumPending: Int

    init(endpoint: String, maximumPending: Int) {
        self.endpoint = endpoint
        self.maximumPending = max(1, maximumPending)
        self.lastReplyAt = .distantPast
    }

    /// Commands written or waiting to be, cancelled ones written included.
    var pendingCount: Int { unwritten.count + awaiting.count }

    // MARK: Sending

    enum EnqueueAction {
        /// Queued; the handler must schedule one flush on the event loop.
        case scheduleFlush
        /// Queued behind a flush already scheduled.
        case none
        /// Refused: fail every promise with the error.
        case fail([Promise], RedisError)
    }

    /// Takes `commands` as one unit: all are queued, written in one go and back to back,
    /// or all are refused.
    mutating func enqueue(_ commands: [Command]) -> EnqueueAction {
        let promises = commands.compactMap(\.promise)
        switch state {
        case .closing(let reason), .closed(let reason):
            return .fail(promises, .unavailable("the command was not sent: the connection to Redis at \(endpoint) is closed (\(reason))"))
        case .active:
            break
        }
        if deliversPushes, !promises.isEmpty {
            return .fail(promises, .invalidCommand("a subscriber connection delivers pub/sub messages, not replies; send commands through a pool"))
        }
        guard pendingCount + commands.count <= maximumPending else {
            return .fail(promises, .saturated(endpoint: endpoint, pending: pendingCount, limit: maximumPending))
        }
        unwritten.append(contentsOf: commands)
        if flushScheduled { return .none }
        flushScheduled = true
        return .scheduleFlush
    }

    /// The scheduled flush: every queued command goes out now, in order. Returns the bytes to
    /// write, followed by one flush, when the connection is still open.
    mutating func flush(now: NIODeadline) -> [ByteBuffer] {
        flushScheduled = false
        guard case .active = state, !unwritten.isEmpty else { return [] }
        var buffers: [ByteBuffer] = []
        buffers.reserveCapacity(unwritten.count)
        for command in unwritten {
            buffers.append(command.bytes)
            if let promise = command.promise {
                awaiting.append(Awaiting(id: command.id, promise: promise, writtenAt: now, timeout: command.timeout))
            }
        }
        unwritten.removeAll(keepingCapacity: true)
        return buffers
    }

    /// The caller's task was cancelled: returns the promises to fail with CancellationError.
    mutating func cancel(id: UInt64) -> [Promise] {
        var cancelled: [Promise] = []
        if let index = unwritten.firstIndex(where: { $0.id == id }) {
            // Never written: Redis will not hear of it.
            if let promise = unwritten[index].promise { cancelled.append(promise) }
            unwritten.remove(at: index)
            return cancelled
        }
        if let index = awaiting.firstIndex(where: { $0.id == id }) {
            // Written: the reply still comes and takes this slot, so later replies stay matched.
            if let promise = awaiting[index].promise { cancelled.append(promise) }
            awaiting[index].promise = nil
        }
        return cancelled
    }

    mutating func deliverPushes() {
        deliversPushes = true
    }

    // MARK: Receiving

    enum ReplyAction {
        case succeed(Promise, RESPValue)
        case fail(Promise, RedisError)
        /// The reply belonged to a cancelled caller.
        case discard
        case push(RESPValue)
        /// Fail the promise (when any), then close the connection with the error.
        case failAndClose(Promise?, RedisError, close: RedisError)
        case close(RedisError)
        /// The connection is ending; the rest of the stream cannot be matched to callers.
        case ignore
    }

    mutating func receive(_ reply: RESPValue, now: NIODeadline) -> ReplyAction {
        guard case .active = state else { return .ignore }
        lastReplyAt = now
        guard let head = awaiting.popFirst() else {
            if deliversPushes { return .push(reply) }
            return close(.protocolError("Redis at \(endpoint) sent a reply no command asked for"))
        }
        guard case .error(let message) = reply else {
            guard let promise = head.promise else { return .discard }
            return .succeed(promise, reply)
        }
        // A master demoted by a failover refuses writes from then on: drop the connection, so
        // the next one goes to the current master.
        if message.hasPrefix("READONLY") {
            let reason = RedisError.connectionClosed("Redis at \(endpoint) became a replica (READONLY); reconnecting to the current master")
            return .failAndClose(head.promise, .server(message), close: reason)
        }
        guard let promise = head.promise else { return .discard }
        return .fail(promise, .server(message))
    }

    // MARK: Ending

    /// The watchdog's tick: the error to close with when the oldest command is overdue.
    func overdue(now: NIODeadline) -> RedisError? {
        guard case .active = state, let head = awaiting.first else { return nil }
        // Replies come in order, so the oldest command's clock starts when Redis could start
        // on it: when it was written or when the previous reply came, whichever is later. A
        // long queue behind a busy but live Redis therefore does not time out.
        guard max(head.writtenAt, lastReplyAt) + head.timeout < now else { return nil }
        return .timeout("no reply from Redis at \(endpoint) within \(head.timeout.nanoseconds / 1_000_000) ms")
    }

    /// Starts closing: the handler closes the channel and fails the returned promises. Only
    /// the first reason counts.
    mutating func close(_ reason: RedisError) -> ReplyAction {
        guard case .active = state else { return .ignore }
        state = .closing(reason)
        return .close(reason)
    }

    /// The channel is gone (or closing): every pending caller fails. Commands never written
    /// fail as `unavailable`, which tells a caller they are safe to retry elsewhere.
    mutating func failAll(_ reason: RedisError) -> [(Promise, RedisError)] {
        let finalReason: RedisError
        switch state {
        case .active: finalReason = reason
        case .closing(let first), .closed(let first): finalReason = first
        }
        state = .closed(finalReason)
        var failed: [(Promise, RedisError)] = []
        while let waiter = awaiting.popFirst() {
            if let promise = waiter.promise { failed.append((promise, finalReason)) }
        }
        for command in unwritten {
            if let promise = command.promise {
                failed.append((promise, .unavailable("the command was not sent: the connection to Redis at \(endpoint) closed first (\(finalReason))")))
            }
        }
        unwritten.removeAll()
        return failed
    }
}
