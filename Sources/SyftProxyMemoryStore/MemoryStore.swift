import DequeModule
import Synchronization
import SyftProxyCore

/// The embedded store: one process, no Redis, same semantics as the shared store. One lock
/// guards all state, which makes every transition atomic just as a Lua script does in Redis.
public final class MemoryStore: RPCStore {
    public let backendName = "memory"
    public let settings: StoreSettings
    private let clock: @Sendable () -> Double
    private let state: Mutex<MemoryState>
    private let finals = WakeupRegistry<String>()
    private let inboxes = WakeupRegistry<QueueName>()
    private let pushWork = WakeupRegistry<Int>()
    private static let pushKey = 0

    public init(settings: StoreSettings = StoreSettings(), clock: @escaping @Sendable () -> Double = Timestamp.now) {
        self.settings = settings
        self.clock = clock
        self.state = Mutex(MemoryState(settings: settings))
    }

    public func ping() async throws {}

    public func create(_ requests: [NewRequest], idempotencyKey: String?) async throws -> [CreateOutcome] {
        let now = clock()
        let (outcomes, wakes) = state.withLock { $0.create(requests, idempotencyKey: idempotencyKey, now: now) }
        deliver(wakes)
        return outcomes
    }

    public func record(id: String) async throws -> RPCRecord? {
        let now = clock()
        let (record, wakes) = state.withLock { state -> (RPCRecord?, Wakes) in
            var wakes = Wakes()
            state.failIfOverdue(id: id, now: now, wakes: &wakes)
            return (state.liveRecord(id: id, now: now), wakes)
        }
        deliver(wakes)
        return record
    }

    public func leaseInbox(appName: String, destination: String, max: Int) async throws -> [RPCRecord] {
        let now = clock()
        let name = QueueName(appName: appName, destination: destination)
        return state.withLock { state in
            state.pullConsumerSeen[name] = now
            return state.leaseInbox(name, max: max, now: now)
        }
    }

    public func leasePush(max: Int) async throws -> [PushDelivery] {
        let now = clock()
        return state.withLock { $0.leasePush(max: max, now: now) }
    }

    public func renewLease(id: String) async throws -> Bool {
        let now = clock()
        return state.withLock { $0.renewLease(id: id, now: now) }
    }

    public func releaseLease(id: String) async throws {
        let now = clock()
        let wakes = state.withLock { $0.releaseLease(id: id, now: now) }
        deliver(wakes)
    }

    public func deferDelivery(id: String, token: String?, by seconds: Double) async throws -> Bool {
        let now = clock()
        return state.withLock { $0.deferDelivery(id: id, by: seconds, now: now) }
    }

    public func answer(id: String, with answer: RPCAnswer) async throws -> AnswerOutcome {
        let now = clock()
        let (outcome, wakes) = state.withLock { $0.answer(id: id, with: answer, now: now) }
        deliver(wakes)
        return outcome
    }

    public func expireIfOverdue(id: String) async throws -> RPCRecord? {
        try await record(id: id)
    }

    public func sweep() async throws -> SweepReport {
        let now = clock()
        let (report, wakes) = state.withLock { $0.sweep(now: now) }
        deliver(wakes)
        return report
    }

    public func waitForFinal(id: String, until deadline: Double) async throws -> RPCRecord? {
        let ticket = finals.register(id)
        defer { finals.unregister(ticket) }
        while true {
            let record = try await record(id: id)
            guard let record, !record.state.isFinal, clock() < deadline, !Task.isCancelled else { return record }
            await finals.wait(ticket, until: deadline)
        }
    }

    public func waitForInbox(appName: String, destination: String, until deadline: Double) async throws {
        let name = QueueName(appName: appName, destination: destination)
        let ticket = inboxes.register(name)
        defer { inboxes.unregister(ticket) }
        let hasWork = state.withLock { $0.pullQueues[name]?.isEmpty == false }
        if hasWork { return }
        await inboxes.wait(ticket, until: deadline)
    }

    public func waitForPushWork(until deadline: Double) async throws {
        let ticket = pushWork.register(Self.pushKey)
        defer { pushWork.unregister(ticket) }
        let hasWork = state.withLock { !$0.pushQueue.isEmpty }
        if hasWork { return }
        await pushWork.wait(ticket, until: deadline)
    }

    public func publishSchema(appName: String, schema: JSONValue, owner: String?) async throws -> SchemaPublishOutcome {
        state.withLock { state in
            if let existingOwner = state.schemas[appName]?.owner, existingOwner != owner {
                return .ownedByAnother(owner: existingOwner)
            }
            let keptOwner = state.schemas[appName]?.owner ?? owner
            state.schemas[appName] = (schema, keptOwner)
            return .stored
        }
    }

    public func schema(appName: String) async throws -> JSONValue? {
        state.withLock { $0.schemas[appName]?.schema }
    }

    public func registerPushEndpoint(appName: String, destination: String, url: String) async throws {
        let wakes = state.withLock { $0.registerPushEndpoint(QueueName(appName: appName, destination: destination), url: url) }
        deliver(wakes)
    }

    public func removePushEndpoint(appName: String, destination: String) async throws -> Bool {
        let (removed, wakes) = state.withLock { $0.removePushEndpoint(QueueName(appName: appName, destination: destination)) }
        deliver(wakes)
        return removed
    }

    public func pushEndpoint(appName: String, destination: String) async throws -> String? {
        state.withLock { $0.endpoints[QueueName(appName: appName, destination: destination)] }
    }

    public func hasActivePullConsumer(appName: String, destination: String) async throws -> Bool {
        let now = clock()
        return state.withLock { state in
            guard let seen = state.pullConsumerSeen[QueueName(appName: appName, destination: destination)] else { return false }
            return now - seen < pullConsumerWindow
        }
    }

    public func stats() async throws -> StoreStats {
        state.withLock { state in
            StoreStats(
                queuedForPull: state.pullQueues.values.reduce(0) { $0 + $1.count },
                queuedForPush: state.pushQueue.count,
                leased: state.leasedCount)
        }
    }

    public func consumeRateLimit(key: String, cost: Int, limit: Int, window: Double) async throws -> RateLimitDecision {
        let now = clock()
        let current = (now / window).rounded(.down)
        let resetAfter = (current + 1) * window - now
        return state.withLock { state in
            var used = state.rateWindows[key].flatMap { $0.window == current ? $0.used : nil } ?? 0
            guard used + cost <= limit else {
                return RateLimitDecision(allowed: false, limit: limit, remaining: max(0, limit - used), resetAfter: resetAfter)
            }
            used += cost
            state.rateWindows[key] = (current, used)
            if state.rateWindows.count > 100_000 {
                state.rateWindows = state.rateWindows.filter { $0.value.window == current }
            }
            return RateLimitDecision(allowed: true, limit: limit, remaining: limit - used, resetAfter: resetAfter)
        }
    }

    /// Signals go out after the lock is released so woken tasks never contend with it.
    private func deliver(_ wakes: Wakes) {
        for id in wakes.finals { finals.signal(id) }
        for name in wakes.inboxes { inboxes.signalOne(name) }
        if wakes.push { pushWork.signal(Self.pushKey) }
    }
}

/// Who to wake once a transition has been applied.
struct Wakes {
    var finals: [String] = []
    var inboxes: [QueueName] = []
    var push = false
}
