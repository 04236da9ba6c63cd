import DequeModule
import Synchronization
import SyftProxyCore

/// The embedded store: one process, no Redis, same semantics as the shared store. One lock
/// guards all state, which makes every transition atomic just as a Lua script does in Redis.
public final class MemoryStore: RPCStore {
    public let backendName = "memory"
    public let settings: StoreSettings
    let clock: @Sendable () -> Double
    let state: Mutex<MemoryState>
    private let finals = WakeupRegistry<String>()
    private let inboxes = WakeupRegistry<QueueName>()
    private let pushWork = WakeupRegistry<Int>()
    private static let pushKey = 0

    /// `clock` is the store's time, which decides deadlines and expiry; tests set it apart
    /// from the process clock to act as a shared store whose clock disagrees with a replica's.
    public init(settings: StoreSettings = StoreSettings(), clock: @escaping @Sendable () -> Double = Timestamp.now) {
        self.settings = settings
        self.clock = clock
        self.state = Mutex(MemoryState(settings: settings))
    }

    public func ping() async throws {}

    public func create(_ requests: [NewRequest], idempotencyKey: IdempotencyKey?, leasingTo consumer: InboxConsumer?) async throws -> [CreateOutcome] {
        let now = clock()
        let holder = consumer?.timelineHolder(replicaID: settings.replicaID)
        let (outcomes, wakes) = try state.withLock { state throws(IdempotencyKeyReused) in
            try state.create(requests, idempotencyKey: idempotencyKey, directHolder: holder, now: now)
        }
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

    public func leaseInbox(appName: String, destination: String, max: Int, consumer: InboxConsumer) async throws -> [RPCRecord] {
        let now = clock()
        let name = QueueName(appName: appName, destination: destination)
        let holder = consumer.timelineHolder(replicaID: settings.replicaID)
        return state.withLock { state in
            state.markPullConsumer(name, now: now)
            return state.leaseInbox(name, max: max, now: now, holder: holder)
        }
    }

    public func leasePush(max: Int) async throws -> [PushDelivery] {
        let now = clock()
        let (deliveries, wakes) = state.withLock { $0.leasePush(max: max, now: now) }
        deliver(wakes)
        return deliveries
    }

    public func renewLease(id: String, token: String) async throws -> LeaseRenewal {
        let now = clock()
        return state.withLock { $0.renewLease(id: id, token: token, now: now) }
    }

    @discardableResult
    public func releaseLease(id: String, token: String) async throws -> Bool {
        let now = clock()
        let (released, wakes) = state.withLock { $0.releaseLease(id: id, token: token, now: now) }
        deliver(wakes)
        return released
    }

    public func dropLease(id: String, token: String) async throws -> Bool {
        let now = clock()
        let (dropped, wakes) = state.withLock { $0.dropLease(id: id, token: token, now: now) }
        deliver(wakes)
        return dropped
    }

    public func deferDelivery(id: String, token: String, by seconds: Double) async throws -> Bool {
        let now = clock()
        return state.withLock { $0.deferDelivery(id: id, token: token, by: seconds, now: now) }
    }

    public func markSyftBoxDelivery(id: String, sender: String, leaseToken: String?) async throws -> Bool {
        let now = clock()
        return state.withLock { $0.markSyftBoxDelivery(id: id, sender: sender, leaseToken: leaseToken, now: now) }
    }

    public func answer(id: String, with answer: RPCAnswer, leaseToken: String?) async throws -> AnswerOutcome {
        let now = clock()
        let (outcome, wakes) = state.withLock { $0.answer(id: id, with: answer, leaseToken: leaseToken, now: now) }
        deliver(wakes)
        return outcome
    }

    public func expireIfOverdue(id: String) async throws -> RPCRecord? {
        try await record(id: id)
    }

    public func sweep() async throws -> SweepReport {
        let now = clock()
        let (report, wakes) = state.withLock { state in
            var (report, wakes) = state.sweep(now: now)
            (report.trimmedIDs, report.forgottenQueues) = state.trimQueues(now: now)
            return (report, wakes)
        }
        deliver(wakes)
        return report
    }

    public func waitForFinal(id: String, until deadline: Double) async throws -> RPCRecord? {
        let ticket = finals.register(id)
        defer { finals.unregister(ticket) }
        while true {
            let record = try await record(id: id)
            // The deadline is by the caller's clock, as with a shared store.
            guard let record, !record.state.isFinal, Timestamp.now() < deadline, !Task.isCancelled else { return record }
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

    public func registerPushEndpointIfAbsent(appName: String, destination: String, url: String) async throws -> Bool {
        let name = QueueName(appName: appName, destination: destination)
        let wakes = state.withLock { state -> Wakes? in
            guard state.endpoints[name] == nil else { return nil }
            return state.registerPushEndpoint(name, url: url)
        }
        guard let wakes else { return false }
        deliver(wakes)
        return true
    }

    public func removePushEndpoint(appName: String, destination: String) async throws -> Bool {
        state.withLock { $0.removePushEndpoint(QueueName(appName: appName, destination: destination)) }
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
                queuedForPull: state.pullQueuedCount,
                queuedForPush: state.pushQueue.count,
                leased: state.leasedCount)
        }
    }

    /// GCRA, the same arithmetic as the Redis store's script: each request of cost 1 moves
    /// the key's theoretical arrival time (TAT) on by window / limit; a request is allowed
    /// while that leaves the TAT at most one window ahead of now. A full budget can be spent
    /// at once, and then it refills evenly, one request every window / limit seconds.
    public func consumeRateLimit(key: String, cost: Int, limit: Int, window: Double) async throws -> RateLimitDecision {
        let now = clock()
        return state.withLock { state in
            let (decision, arrival) = Self.gcra(stored: state.rateLimits[key], now: now, cost: cost, limit: limit, window: window)
            if let arrival {
                state.rateLimits[key] = arrival
                if state.rateLimits.count > 100_000 { state.rateLimits = state.rateLimits.filter { $0.value > now } }
            }
            return decision
        }
    }

    /// The decision and, when allowed, the key's new TAT.
    static func gcra(stored: Double?, now: Double, cost: Int, limit: Int, window: Double) -> (RateLimitDecision, Double?) {
        guard limit > 0, window > 0 else { return (RateLimitDecision(allowed: false, limit: limit, remaining: 0, resetAfter: max(window, 0)), nil) }
        let interval = window / Double(limit)
        let slack = 1e-6
        let arrival = max(stored ?? now, now)
        func remaining(_ at: Double) -> Int { min(limit, max(0, Int(((now + window - at) / interval + slack).rounded(.down)))) }
        let after = arrival + Double(cost) * interval
        guard after - now <= window + slack else {
            // Refused: seconds until this request would fit (until the budget is full when it
            // costs more than the whole budget).
            let wait = cost > limit ? arrival - now : after - window - now
            return (RateLimitDecision(allowed: false, limit: limit, remaining: remaining(arrival), resetAfter: max(0, wait)), nil)
        }
        return (RateLimitDecision(allowed: true, limit: limit, remaining: remaining(after), resetAfter: after - now), after)
    }

    /// Pairs the store holds state for (queues, pull-consumer marks); tests check it stays bounded.
    var trackedPairCount: Int { state.withLock { $0.pullQueues.count + $0.pullConsumerSeen.count } }

    /// Signals go out after the lock is released so woken tasks never contend with it.
    func deliver(_ wakes: Wakes) {
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

extension MemoryStore {
    public func adminRequests(_ query: AdminQuery) async throws -> AdminPage {
        let now = clock()
        return state.withLock { $0.page(query, now: now) }
    }

    public func adminRequest(id: String) async throws -> AdminRecord? {
        let now = clock()
        let (found, wakes) = state.withLock { state -> (AdminRecord?, Wakes) in
            var wakes = Wakes()
            state.failIfOverdue(id: id, now: now, wakes: &wakes)
            guard let entry = state.entries[id], entry.expiresAt > now else { return (nil, wakes) }
            return (state.adminRecord(entry, timeline: true), wakes)
        }
        deliver(wakes)
        return found
    }

    public func cancel(id: String, as failure: FailureClass, message: String) async throws -> AdminActionOutcome {
        let now = clock()
        let (outcome, wakes) = state.withLock { state -> (AdminActionOutcome, Wakes) in
            var wakes = Wakes()
            return (state.cancel(id: id, as: failure, message: message, now: now, wakes: &wakes), wakes)
        }
        deliver(wakes)
        return outcome
    }

    public func retry(id: String) async throws -> AdminActionOutcome {
        let now = clock()
        let (outcome, wakes) = state.withLock { state -> (AdminActionOutcome, Wakes) in
            var wakes = Wakes()
            return (state.retry(id: id, now: now, wakes: &wakes), wakes)
        }
        deliver(wakes)
        return outcome
    }

    public func deleteFailed(id: String) async throws -> AdminActionOutcome {
        let now = clock()
        return state.withLock { $0.deleteFailed(id: id, now: now) }
    }

    public func queues() async throws -> [QueueSummary] {
        let now = clock()
        return state.withLock { $0.queues(now: now) }
    }

    public func purgeQueue(appName: String, destination: String, message: String) async throws -> (purged: Int, remaining: Int) {
        let now = clock()
        let (counts, wakes) = state.withLock { state -> ((purged: Int, remaining: Int), Wakes) in
            var wakes = Wakes()
            return (state.purge(QueueName(appName: appName, destination: destination), message: message, now: now, wakes: &wakes), wakes)
        }
        deliver(wakes)
        return counts
    }

    public func publishHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws {
        var stamped = heartbeat
        stamped.lastSeen = clock()
        state.withLock { $0.heartbeats[stamped.id] = stamped }
    }

    public func replicas() async throws -> [ReplicaHeartbeat] {
        let now = clock()
        return state.withLock { $0.liveHeartbeats(now: now) }
    }

    public func endpoints() async throws -> [EndpointSummary] {
        let now = clock()
        return state.withLock { $0.endpointSummaries(now: now) }.sorted { ($0.appName, $0.destination) < ($1.appName, $1.destination) }
    }

    public func recordEndpointHealth(_ reports: [EndpointHealthReport]) async throws {
        state.withLock { $0.record(reports) }
    }
}
