import Logging
import SyftProxyCore
import Synchronization
import WSCore

/// One app's WebSocket (GET /rpc/connect/{app_name}): leases the pair's requests as the
/// long-poll inbox does, sends each as a text frame holding an inbox item, and records the
/// answers that come back, never holding more than `concurrency` unanswered items.
///
/// Each item is a lease taken on the socket's behalf: renewed while the socket lives (a slow
/// handler is not delivered again meanwhile), and handed back the moment the socket ends. A
/// socket that dropped (closed by the app, a broken connection, no pong) counts the
/// attempt, as an expired lease would, so a request that keeps killing its app still ends;
/// a replica shutting down does not, since the app did nothing wrong.
///
/// The socket is also a local consumer: a send on this replica for its pair, while it has
/// room, leases the request to it in the create step and hands it over here (``take(_:)``),
/// so the pair's queue is only read when work may wait there.
final class SocketSession: LocalConsumer {
    private let store: any RPCStore
    private let parameters: ConnectParameters
    private let metrics: ProxyMetrics
    private let logger: Logger
    private let leaseSeconds: Double
    private let maxMessageBytes: Int
    private struct Slots {
        /// Items sent and not yet answered: request id to the lease token that fences the answer.
        var held: [String: String] = [:]
        /// Room promised to sends on this replica whose requests are being created.
        var reserved = 0
        /// Set when the hand-back starts: nothing is taken after it.
        var closed = false
    }

    private let slots = Mutex(Slots())
    private let localConsumers: LocalConsumers?
    /// Fired when an item stops being held, so a full socket leases again.
    private let slotFreed = WakeSignal()
    private let stopRequested = WakeSignal()
    private let stopping = Mutex(false)
    private let outgoing: AsyncStream<String>
    private let send: AsyncStream<String>.Continuation

    /// A socket that is full, or finds its queue empty, still leases this often, which keeps
    /// its pair marked as served (``pullConsumerWindow``) and away from SyftBox routing.
    private static let markRefreshSeconds = pullConsumerWindow / 3

    init(store: any RPCStore, parameters: ConnectParameters, metrics: ProxyMetrics, logger: Logger, leaseSeconds: Double, maxMessageBytes: Int,
         localConsumers: LocalConsumers? = nil) {
        self.store = store
        self.localConsumers = localConsumers
        self.parameters = parameters
        self.metrics = metrics
        self.logger = logger
        self.leaseSeconds = leaseSeconds
        self.maxMessageBytes = maxMessageBytes
        (outgoing, send) = AsyncStream.makeStream(of: String.self)
    }

    func run(inbound: WebSocketInboundStream, outbound: WebSocketOutboundWriter) async {
        logger.info("websocket opened", metadata: ["app_name": "\(parameters.appName)", "destination": "\(parameters.destination)", "concurrency": "\(parameters.concurrency)"])
        let pair = QueueName(appName: parameters.appName, destination: parameters.destination)
        localConsumers?.add(self, for: pair)
        // Counted open once it takes sends directly, so the gauge never runs ahead of that.
        metrics.webSocketOpened()
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.write(to: outbound) }
            group.addTask { await self.deliver() }
            group.addTask { await self.renew() }
            group.addTask { await self.read(inbound) }
            group.addTask { await self.stopRequested.wait() }
            // The reader ends when the app goes (close, broken connection, no pong), the
            // writer when the connection breaks, the stopper on shutdown: any one ends it.
            _ = await group.next()
            group.cancelAll()
        }
        localConsumers?.remove(self, for: pair)
        send.finish()
        let shuttingDown = stopping.withLock { $0 }
        // Not cancelled with the connection's task: the items must go back whatever ended it.
        await Task { await self.handBack(dropped: !shuttingDown) }.value
        if shuttingDown { try? await outbound.close(.goingAway, reason: "replica shutting down; connect again") }
        metrics.webSocketClosed()
        logger.info("websocket closed", metadata: ["app_name": "\(parameters.appName)", "destination": "\(parameters.destination)", "handed_back": "\(shuttingDown ? "released" : "dropped")"])
    }

    /// The replica is shutting down: hand the items back uncounted, then close with 1001.
    func stop() {
        stopping.withLock { $0 = true }
        stopRequested.fire()
    }

    // MARK: Server to app

    /// Leases from the pair's queue only while work may wait there: after a wake-up or the
    /// store's re-check tick, or after a lease that filled every free slot. A slot freed by an
    /// answer leases nothing by itself: sends on this replica hand their requests over
    /// directly, and ones queued meanwhile are found by the store's check on the next wait.
    private func deliver() async {
        var mayHaveWork = true
        var lastLease = Timestamp.now() - Self.markRefreshSeconds
        while !Task.isCancelled {
            var free = freeSlots
            do {
                let markDue = Timestamp.now() - lastLease >= Self.markRefreshSeconds
                if (mayHaveWork && free > 0) || markDue {
                    // The lease holds its room as a send's reservation does, so the two
                    // together never exceed the socket's concurrency.
                    free = reserveFree()
                    // Shielded from cancellation: a lease the store granted must reach the
                    // held items, or its requests would sit out a whole lease first.
                    let store = store, parameters = parameters, room = free
                    let leased: [RPCRecord]
                    do {
                        leased = try await uncancelled { try await store.leaseInbox(appName: parameters.appName, destination: parameters.destination, max: room, consumer: .webSocket) }
                    } catch {
                        unreserve(room)
                        throw error
                    }
                    lastLease = Timestamp.now()
                    mayHaveWork = free > 0 && leased.count == free
                    if !hold(leased, reserved: room) {
                        // Closed while the lease ran, after the hand-back: give these back too.
                        for record in leased {
                            guard let token = record.leaseToken else { continue }
                            _ = try? await uncancelled { try await store.releaseLease(id: record.id, token: token) }
                        }
                    }
                    metrics.delivered(count: leased.count, mode: "websocket")
                    if !leased.isEmpty { continue }
                }
                if free > 0 {
                    try await store.waitForInbox(appName: parameters.appName, destination: parameters.destination, until: lastLease + Self.markRefreshSeconds)
                    mayHaveWork = true
                } else {
                    await slotFreed.wait(timeout: .seconds(max(0.01, lastLease + Self.markRefreshSeconds - Timestamp.now())))
                }
            } catch {
                if Task.isCancelled { return }
                logger.warning("websocket delivery could not lease; retrying in 1 s", metadata: ["app_name": "\(parameters.appName)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    private var freeSlots: Int {
        slots.withLock { max(0, parameters.concurrency - $0.held.count - $0.reserved) }
    }

    private func reserveFree() -> Int {
        slots.withLock { slots in
            let free = max(0, parameters.concurrency - slots.held.count - slots.reserved)
            slots.reserved += free
            return free
        }
    }

    private func unreserve(_ count: Int) {
        slots.withLock { $0.reserved = max(0, $0.reserved - count) }
    }

    /// Turns `reserved` slots into the leased items held in them, and sends the items; false,
    /// sending nothing, once closed.
    private func hold(_ records: [RPCRecord], reserved: Int) -> Bool {
        let open = slots.withLock { slots -> Bool in
            slots.reserved = max(0, slots.reserved - reserved)
            guard !slots.closed else { return false }
            for record in records { if let token = record.leaseToken { slots.held[record.id] = token } }
            return true
        }
        if open { for record in records { send.yield(record.inboxJSON.compactString) } }
        return open
    }

    // MARK: LocalConsumer

    var kind: InboxConsumer { .webSocket }

    func reserve() -> Bool {
        slots.withLock { slots in
            guard !slots.closed, !stopping.withLock({ $0 }), slots.held.count + slots.reserved < parameters.concurrency else { return false }
            slots.reserved += 1
            return true
        }
    }

    func cancelReservation() {
        slots.withLock { $0.reserved = max(0, $0.reserved - 1) }
        slotFreed.fire()
    }

    func take(_ record: RPCRecord) -> Bool {
        guard hold([record], reserved: 1) else { return false }
        metrics.deliveredDirectly(mode: "websocket")
        return true
    }

    private func write(to outbound: WebSocketOutboundWriter) async {
        for await text in outgoing {
            do {
                try await outbound.write(.text(text))
                metrics.webSocketFrame(outbound: true)
            } catch {
                logger.debug("websocket write failed", metadata: ["error": "\(error)"])
                return
            }
        }
    }

    private func renew() async {
        let interval = Duration.milliseconds(Int(leaseSeconds * 1000 / 3))
        while (try? await Task.sleep(for: interval)) != nil {
            for (id, token) in slots.withLock({ $0.held }) {
                guard let renewal = try? await store.renewLease(id: id, token: token), renewal != .renewed else { continue }
                // Answered meanwhile, timed out, or taken over: nothing left to hold.
                forget(id, token: token)
            }
        }
    }

    /// Gives every held item back; see the type's comment for when the attempt counts.
    private func handBack(dropped: Bool) async {
        let items = slots.withLock { slots in
            slots.closed = true
            defer { slots.held.removeAll() }
            return slots.held
        }
        let store = store
        for (id, token) in items {
            do {
                // The socket's end may have come with a cancellation; the hand-back must still
                // reach the store.
                _ = try await uncancelled {
                    dropped ? try await store.dropLease(id: id, token: token) : try await store.releaseLease(id: id, token: token)
                }
            } catch {
                logger.warning("could not hand back a request of a closed websocket; its lease expiry returns it", metadata: ["id": "\(id)", "error": "\(error)"])
            }
        }
    }

    // MARK: App to server

    private func read(_ inbound: WebSocketInboundStream) async {
        do {
            // Answers are recorded concurrently, at most `concurrency` at once, as an app's
            // replies over HTTP would be.
            try await withThrowingTaskGroup(of: Void.self) { group in
                var running = 0
                for try await message in inbound.messages(maxSize: maxMessageBytes) {
                    metrics.webSocketFrame(outbound: false)
                    if running >= parameters.concurrency {
                        _ = try await group.next()
                        running -= 1
                    }
                    running += 1
                    group.addTask { await self.receive(message) }
                }
            }
        } catch {
            logger.debug("websocket read ended", metadata: ["error": "\(error)"])
        }
    }

    private func receive(_ message: WebSocketMessage) async {
        switch message {
        case .binary:
            reply(SocketFrames.rejection(id: nil, status: 422, "binary frames are not read; send each answer as a text frame holding a JSON object"))
        case .text(let text):
            switch SocketFrames.answer(from: text) {
            case .failure(let rejection):
                reply(rejection.frame)
            case .success(let (id, answer)):
                await record(answer, for: id)
            }
        }
    }

    private func record(_ answer: RPCAnswer, for id: String) async {
        guard let token = slots.withLock({ $0.held[id] }) else {
            return reply(await notHeld(id))
        }
        do {
            switch try await store.answer(id: id, with: answer, leaseToken: token) {
            case .accepted(let record):
                forget(id, token: token)
                metrics.finished(record)
            case .alreadyFinal(let record):
                forget(id, token: token)
                reply(SocketFrames.rejection(id: id, status: 409, "request '\(id)' \(SocketFrames.finalState(record)); this answer was ignored"))
            case .leaseLost(let record):
                forget(id, token: token)
                reply(SocketFrames.rejection(id: id, status: 409, "request '\(id)' is \(record.state.rawValue) under another delivery (this socket's lease expired); this answer was ignored"))
            case .notFound:
                forget(id, token: token)
                reply(SocketFrames.rejection(id: id, status: 404, "request '\(id)' is unknown or has expired; nothing to answer"))
            }
        } catch {
            // Still held: the app may send the answer again, or the lease hands it on.
            reply(SocketFrames.rejection(id: id, status: 503, "the answer to '\(id)' was not recorded: \(error); send it again"))
        }
    }

    /// Why an answer to an item this socket does not hold is refused.
    private func notHeld(_ id: String) async -> String {
        guard let record = try? await store.record(id: id) else {
            return SocketFrames.rejection(id: id, status: 404, "request '\(id)' is unknown or has expired; nothing to answer")
        }
        if record.state.isFinal {
            return SocketFrames.rejection(id: id, status: 409, "request '\(id)' \(SocketFrames.finalState(record)); this answer was ignored")
        }
        return SocketFrames.rejection(id: id, status: 409, "request '\(id)' is not leased to this socket (delivered elsewhere, or handed back); this answer was ignored")
    }

    private func forget(_ id: String, token: String) {
        let removed = slots.withLock { slots -> Bool in
            guard slots.held[id] == token else { return false }
            slots.held.removeValue(forKey: id)
            return true
        }
        if removed { slotFreed.fire() }
    }

    private func reply(_ frame: String) {
        send.yield(frame)
    }
}
