import Logging
import Synchronization
import SyftProxyCore
import SyftProxyRedis

/// The shared store: all request state in Redis, sharded (RedisKeys), every transition one Lua
/// script on one slot, wake-ups over the shards' channels (sharded pub/sub). It works through
/// any `RedisDeployment` (one Redis, Sentinel, a Cluster), holding that deployment's fixed
/// connections plus one shard subscription, however many callers wait on it: waiters park on
/// in-process tickets, never on a Redis connection. `service` runs both; nothing works before
/// it runs.
public final class RedisStore: RPCStore {
    public let backendName = "redis"
    public let settings: StoreSettings
    let deployment: any RedisDeployment
    let keys: RedisKeys
    let subscriber: any RedisShardSubscription
    let scripts = LoadedScripts()
    let wakeups: StoreWakeups
    private let layoutState = Mutex<LayoutState>(.unchecked)
    private let sweepCursor = Mutex<Int>(0)
    var finals: WakeupRegistry<String> { wakeups.finals }
    var queueWaiters: WakeupRegistry<String> { wakeups.queueWaiters }
    /// A wake-up lost while the subscriber reconnects costs at most this much latency.
    public static let recheckInterval = 2.0
    static let sweepBatch = 500
    /// Shards one sweep visits (rotating); with the default 16 shards, all of them each tick.
    static let shardsPerSweep = 16
    /// Shards one push lease visits at most; marked shards left over make the next wait
    /// return at once, so the forwarder comes back for them.
    static let shardsPerPushLease = 32

    enum LayoutState: Sendable {
        case unchecked
        case matches
        case differs(stored: String)
    }

    /// `shards` (PROXY_REDIS_SHARDS) must be the same on every replica of a deployment, for as
    /// long as it holds state: ids and keys depend on it. The first replica records it in
    /// Redis; a replica started with another count refuses to serve. `pushRecheckInterval` is
    /// how often push leases look at every shard whatever the wake-ups said (the net for lost
    /// ones); tests lengthen it to count scripts.
    public init(
        deployment: any RedisDeployment, settings: StoreSettings, shards: Int = ShardLayout.defaultShardCount,
        keyBase: String = "syft", pushRecheckInterval: Double = RedisStore.recheckInterval,
        logger: Logger = Logger(label: "syft-proxy.redis-store")
    ) throws {
        guard ShardLayout.shardCounts.contains(shards) else {
            throw StoreError.unavailable(
                "PROXY_REDIS_SHARDS (--redis-shards) must be a whole number from \(ShardLayout.shardCounts.lowerBound) to \(ShardLayout.shardCounts.upperBound), got \(shards)")
        }
        self.deployment = deployment
        self.settings = settings
        let keys = RedisKeys(base: keyBase, shardCount: shards)
        self.keys = keys
        let wakeups = StoreWakeups(pushShards: PushShards(count: shards, recheckInterval: pushRecheckInterval))
        self.wakeups = wakeups
        let shardOfChannel = Dictionary(uniqueKeysWithValues: keys.shards.map { ($0.channel, $0.index) })
        self.subscriber = deployment.makeShardSubscriber(
            channels: keys.shards.map(\.channel), logger: logger,
            onMessage: { channel, payload in
                guard let event = WakeupEvent(parsing: payload) else { return }
                wakeups.route(event, shard: shardOfChannel[channel])
            },
            onSubscribed: { wakeups.subscribed() })
    }

    /// The connections this store works through, as one service: the deployment's command
    /// connections and the shard subscriber. Start it before serving; on graceful shutdown it
    /// closes them, so stop it after everything that uses the store.
    public var service: RedisStoreService { RedisStoreService(store: self) }

    /// True once Redis confirmed the subscription and it is still up: wake-ups published from
    /// now on reach this replica.
    public var isSubscribed: Bool { wakeups.hasSubscribed && subscriber.isConnected }

    /// Callers parked on this replica (blocking sends, inbox long-polls, push workers).
    public var waiterCount: Int { finals.waiterCount + queueWaiters.waiterCount }

    public var shardCount: Int { keys.shardCount }

    // MARK: RPCStore

    /// Also checks the layout record, so /ready turns 503 when it disagrees (or, after Redis
    /// lost its data, writes it again).
    public func ping() async throws {
        do {
            try await checkLayout()
        } catch StoreError.unavailable(let reason) {
            // The layout record lives on one master. When that master is the one down, the
            // record this replica already verified still holds, and the other masters serve:
            // readiness then says degraded (from the topology) instead of failing every replica.
            guard case .matches = layoutState.withLock({ $0 }), deployment.topology.isDegraded else {
                throw StoreError.unavailable(reason)
            }
        }
    }

    public func makeRequestID(appName: String, destination: String) -> String {
        keys.makeRequestID(for: QueueName(appName: appName, destination: destination))
    }

    public func record(id: String) async throws -> RPCRecord? {
        guard let shard = try await shard(ofID: id) else { return nil }
        return try RecordCoding.record(from: try await evaluate(scripts.read, shard, [shard.request(id)], [id]))
    }

    public func leaseInbox(appName: String, destination: String, max: Int, consumer: InboxConsumer) async throws -> [RPCRecord] {
        let name = QueueName(appName: appName, destination: destination)
        let shard = keys.shards[keys.shard(of: name)]
        let holder = consumer.timelineHolder(replicaID: settings.replicaID)
        let reply = try await evaluate(
            scripts.leaseInbox, shard, [shard.queue(name), shard.consumer(name), shard.consumerSet],
            [String(max), String(settings.leaseSeconds), Self.consumerWindowText, holder, ShardKeys.pairMember(name)])
        return try (reply.array ?? []).compactMap { try RecordCoding.record(from: $0) }
    }

    public func renewLease(id: String, token: String) async throws -> LeaseRenewal {
        guard let shard = try await shard(ofID: id) else { return .ended }
        switch try await evaluate(scripts.renew, shard, [shard.request(id)], [id, String(settings.leaseSeconds), token]).int {
        case 1: return .renewed
        case 0: return .lost
        default: return .ended
        }
    }

    @discardableResult
    public func releaseLease(id: String, token: String) async throws -> Bool {
        guard let shard = try await shard(ofID: id) else { return false }
        return try await evaluate(scripts.release, shard, [shard.request(id)], [id, token]).int == 1
    }

    public func deferDelivery(id: String, token: String, by seconds: Double) async throws -> Bool {
        guard let shard = try await shard(ofID: id) else { return false }
        return try await evaluate(scripts.deferDelivery, shard, [shard.request(id)], [id, JSONValue.format(seconds), token]).int == 1
    }

    public func markSyftBoxDelivery(id: String, sender: String, leaseToken: String?) async throws -> Bool {
        guard let shard = try await shard(ofID: id) else { return false }
        return try await evaluate(scripts.markSyftBox, shard, [shard.request(id)], [id, sender, leaseToken ?? ""]).int == 1
    }

    public func answer(id: String, with answer: RPCAnswer, leaseToken: String?) async throws -> AnswerOutcome {
        guard let shard = try await shard(ofID: id) else { return .notFound }
        let args: [String]
        switch answer {
        case .result(let value): args = [id, "result", value.compactString, leaseToken ?? ""]
        case .error(let message): args = [id, "error", message, leaseToken ?? ""]
        case .undeliverable(let message): args = [id, "undeliverable", message, leaseToken ?? ""]
        }
        // A sender blocked on this replica is woken from here, with the final record, instead of
        // by the published wake-up followed by a read; senders on other replicas get the latter.
        var final: RPCRecord?
        wakeups.beginAnswering(id)
        // Whatever happened (even a lost reply), local senders wake; without a record they read.
        defer { wakeups.endAnswering(id, final: final) }
        let reply = try await evaluate(scripts.answer, shard, [shard.request(id)], args)
        guard let parts = reply.array, let tag = parts.first?.string else { throw StoreError.corrupt("answer answered \(reply)") }
        if tag == "missing" { return .notFound }
        guard parts.count > 1, let record = try RecordCoding.record(from: parts[1]) else { return .notFound }
        switch tag {
        case "ok":
            final = record
            return .accepted(record)
        case "lost":
            return .leaseLost(record)
        default:
            final = record
            return .alreadyFinal(record)
        }
    }

    public func expireIfOverdue(id: String) async throws -> RPCRecord? {
        try await record(id: id)
    }

    /// Sweeps ``shardsPerSweep`` shards per call, rotating, concurrently: each shard's script is
    /// bounded by the batch, so a tick's work is bounded whatever the shard count. With up to
    /// that many shards (the default 16) every shard is swept every tick; with more, each shard
    /// once per shards / ``shardsPerSweep`` ticks per replica (replicas sweep independently).
    /// Reads of a request (status, a blocking caller's wait) fail it on time regardless.
    public func sweep() async throws -> SweepReport {
        let count = keys.shardCount
        let visit = min(count, Self.shardsPerSweep)
        let start = sweepCursor.withLock { cursor in
            defer { cursor = (cursor + visit) % count }
            return cursor
        }
        let shards = (0..<visit).map { keys.shards[(start + $0) % count] }
        // The queue walk's budgets are per tick, shared by the shards it visits.
        let trimArguments = [
            QueueMaintenance.queuesPerStep / visit, QueueMaintenance.idsPerStep / visit,
            min(QueueMaintenance.idsPerQueue, QueueMaintenance.idsPerStep / visit),
        ].map { String(max(1, $0)) }
        return try await withThrowingTaskGroup(of: SweepReport.self) { group in
            for shard in shards { group.addTask { try await self.sweep(shard, trimArguments: trimArguments) } }
            var total = SweepReport()
            for try await report in group {
                total.timedOut += report.timedOut
                total.redelivered += report.redelivered
                total.exhausted += report.exhausted
                total.trimmedIDs += report.trimmedIDs
                total.forgottenQueues += report.forgottenQueues
            }
            return total
        }
    }

    private func sweep(_ shard: ShardKeys, trimArguments: [String]) async throws -> SweepReport {
        let reply = try await evaluate(
            scripts.sweep, shard, [],
            [String(settings.maximumAttempts), JSONValue.format(settings.leaseSeconds), String(Self.sweepBatch),
             JSONValue.format(settings.requestTTL), String(AdminLimits.indexTrimPerTick)] + trimArguments)
        let counts = (reply.array ?? []).map { Int($0.int ?? 0) }
        guard counts.count == 7 else { throw StoreError.corrupt("sweep answered \(reply)") }
        return SweepReport(timedOut: counts[0], redelivered: counts[1], exhausted: counts[2], trimmedIDs: counts[4], forgottenQueues: counts[5])
    }

    public func waitForFinal(id: String, until deadline: Double) async throws -> RPCRecord? {
        let ticket = finals.register(id)
        defer { finals.unregister(ticket) }
        return try await waitForFinal(ticket, id: id, until: deadline, known: nil)
    }

    /// Arms the wait before the request exists, so its answer cannot slip by unseen, and starts
    /// from the record the create built: no read before the first wake-up.
    public func createAndWait(_ request: NewRequest, idempotencyKey: IdempotencyKey?, leasingTo consumer: InboxConsumer?, accepted: @Sendable (CreateOutcome) -> Void) async throws -> (outcome: CreateOutcome, current: RPCRecord)? {
        let ticket = finals.register(request.id)
        defer { finals.unregister(ticket) }
        guard let outcome = try await create([request], idempotencyKey: idempotencyKey, leasingTo: consumer).first else { return nil }
        accepted(outcome)
        switch outcome {
        case .created(let record) where record.id == request.id:
            return (outcome, try await waitForFinal(ticket, id: record.id, until: record.deadline, known: record) ?? record)
        // An Idempotency-Key's claim named another id (a retry after a crash between its steps).
        case .created(let record), .duplicate(let record):
            return (outcome, try await waitForFinal(id: record.id, until: record.deadline) ?? record)
        }
    }

    /// Waits on a registered ticket. `known` is the record as it stood when the ticket was
    /// registered; without it the record is read first. A wake-up that carries the final
    /// record (an answer recorded by this replica) saves the read.
    private func waitForFinal(_ ticket: WakeupRegistry<String>.Ticket, id: String, until deadline: Double, known: RPCRecord?) async throws -> RPCRecord? {
        var current = known
        if current == nil { current = try await record(id: id) }
        while true {
            guard let record = current, !record.state.isFinal, Timestamp.now() < deadline, !Task.isCancelled else { return current }
            let signal = await finals.waitForSignal(ticket, until: min(deadline, Timestamp.now() + Self.recheckInterval))
            if let handed = signal?.payload as? RPCRecord, handed.state.isFinal {
                current = handed
            } else {
                current = try await self.record(id: id)
            }
        }
    }

    public func waitForInbox(appName: String, destination: String, until deadline: Double) async throws {
        let name = QueueName(appName: appName, destination: destination)
        let list = keys.shards[keys.shard(of: name)].queue(name)
        let ticket = queueWaiters.register(list)
        defer { queueWaiters.unregister(ticket) }
        // Work queued between the caller's empty lease and the registration above published its
        // wake-up before anyone listened; the length check catches it instead of the re-check tick.
        if (try await command(["LLEN", list], routingKey: list).int ?? 0) > 0 { return }
        await queueWaiters.wait(ticket, until: min(deadline, Timestamp.now() + Self.recheckInterval))
    }

    public func publishSchema(appName: String, schema: JSONValue, owner: String?) async throws -> SchemaPublishOutcome {
        let reply = try await evaluate(scripts.publishSchema, keys: [keys.schema(appName)], args: [schema.compactString, owner ?? ""])
        guard let parts = reply.array, let tag = parts.first?.string else { throw StoreError.corrupt("schema answered \(reply)") }
        if tag == "owned", parts.count > 1, let owner = parts[1].string { return .ownedByAnother(owner: owner) }
        return .stored
    }

    public func schema(appName: String) async throws -> JSONValue? {
        let key = keys.schema(appName)
        let reply = try await command(["HGET", key, "schema"], routingKey: key)
        guard let text = reply.string else { return nil }
        do { return try JSONParser.parse(text) } catch { throw StoreError.corrupt("schema of '\(appName)' is not JSON: \(error)") }
    }

    public func registerPushEndpoint(appName: String, destination: String, url: String) async throws {
        _ = try await registerEndpoint(appName: appName, destination: destination, url: url, onlyIfAbsent: false)
    }

    public func registerPushEndpointIfAbsent(appName: String, destination: String, url: String) async throws -> Bool {
        try await registerEndpoint(appName: appName, destination: destination, url: url, onlyIfAbsent: true)
    }

    /// The pair's shard: its queued ids move to that shard's push list in the same script.
    private func registerEndpoint(appName: String, destination: String, url: String, onlyIfAbsent: Bool) async throws -> Bool {
        let name = QueueName(appName: appName, destination: destination)
        let shard = keys.shards[keys.shard(of: name)]
        let moved = try await evaluate(
            scripts.registerEndpoint, shard, [shard.endpoint(name), shard.queue(name), shard.endpointSet],
            [url, onlyIfAbsent ? "nx" : "", ShardKeys.pairMember(name)]).int ?? 0
        if moved > 0 { wakeups.pushQueued(shard.index) }
        return moved != -1
    }

    public func removePushEndpoint(appName: String, destination: String) async throws -> Bool {
        let key = pairKey(appName, destination) { $0.endpoint($1) }
        return try await command(["DEL", key], routingKey: key).int == 1
    }

    public func pushEndpoint(appName: String, destination: String) async throws -> String? {
        let key = pairKey(appName, destination) { $0.endpoint($1) }
        return try await command(["GET", key], routingKey: key).string
    }

    public func hasActivePullConsumer(appName: String, destination: String) async throws -> Bool {
        let key = pairKey(appName, destination) { $0.consumer($1) }
        return try await command(["EXISTS", key], routingKey: key).int == 1
    }

    private func pairKey(_ appName: String, _ destination: String, _ kind: (ShardKeys, QueueName) -> String) -> String {
        let name = QueueName(appName: appName, destination: destination)
        return kind(keys.shards[keys.shard(of: name)], name)
    }

    static let consumerWindowText = String(Int(pullConsumerWindow))

    /// One bounded script per shard, run concurrently, summed. Each shard counts its queues
    /// one by one up to its share of ``QueueMaintenance/queuesPerStep``, so a read costs about
    /// as much as with one shard, plus a few commands per shard.
    public func stats() async throws -> StoreStats {
        let perShard = String(max(1, QueueMaintenance.queuesPerStep / keys.shardCount))
        return try await withThrowingTaskGroup(of: [Int].self) { group in
            for shard in keys.shards {
                group.addTask {
                    let counts = (try await self.evaluate(self.scripts.stats, shard, [], [perShard]).array ?? []).map { Int($0.int ?? 0) }
                    guard counts.count == 3 else { throw StoreError.corrupt("stats answered unexpectedly") }
                    return counts
                }
            }
            var total = StoreStats(queuedForPull: 0, queuedForPush: 0, leased: 0)
            for try await counts in group {
                total.queuedForPull += counts[0]
                total.queuedForPush += counts[1]
                total.leased += counts[2]
            }
            return total
        }
    }

    public func consumeRateLimit(key: String, cost: Int, limit: Int, window: Double) async throws -> RateLimitDecision {
        let reply = try await evaluate(scripts.rateLimit, keys: [keys.rateLimit(key)], args: [String(cost), String(limit), String(window)])
        guard let parts = reply.array, parts.count == 3, let allowed = parts[0].int, let remaining = parts[1].int,
            let reset = parts[2].string.flatMap(Double.init)
        else { throw StoreError.corrupt("rate limit answered \(reply)") }
        return RateLimitDecision(allowed: allowed == 1, limit: limit, remaining: max(0, Int(remaining)), resetAfter: reset)
    }

    // MARK: Redis access

    /// The id's shard; nil, with no Redis call, for an id of no shard. The layout is checked
    /// first, so a replica with another shard count refuses instead of answering "unknown".
    func shard(ofID id: String) async throws -> ShardKeys? {
        try await requireLayout()
        return keys.shard(ofID: id).map { keys.shards[$0] }
    }

    /// A shard script: the shard's fixed keys, then the script's own.
    func evaluate(_ script: RedisScript, _ shard: ShardKeys, _ extraKeys: [String], _ args: [String]) async throws -> RESPValue {
        try await evaluate(script, keys: extraKeys.isEmpty ? shard.scriptKeys : shard.scriptKeys + extraKeys, args: args)
    }

    func evaluate(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        try await requireLayout()
        do {
            return try await deployment.eval(script, keys: keys, args: args)
        } catch let error as RedisError {
            throw Self.storeError(error)
        }
    }

    func command(_ arguments: [String], routingKey: String) async throws -> RESPValue {
        try await requireLayout()
        do {
            return try await deployment.send(RedisCommand(arguments), routingKey: routingKey)
        } catch let error as RedisError {
            throw Self.storeError(error)
        }
    }

    static func storeError(_ error: RedisError) -> StoreError {
        if case .server(let message) = error { return .corrupt("Redis refused a command: \(message)") }
        return .unavailable("\(error)")
    }

    // MARK: Layout record

    func requireLayout() async throws {
        switch layoutState.withLock({ $0 }) {
        case .matches: return
        case .differs(let stored): throw layoutMismatch(stored: stored)
        case .unchecked: try await checkLayout()
        }
    }

    /// Writes this replica's shard count where none is recorded and compares it with the
    /// recorded one.
    private func checkLayout() async throws {
        let configured = String(keys.shardCount)
        let reply: RESPValue
        do {
            reply = try await deployment.eval(scripts.layout, keys: [keys.layoutRecord], args: [configured])
        } catch let error as RedisError {
            throw Self.storeError(error)
        }
        let stored = reply.string ?? ""
        if stored == configured {
            layoutState.withLock { $0 = .matches }
        } else {
            layoutState.withLock { $0 = .differs(stored: stored) }
            throw layoutMismatch(stored: stored)
        }
    }

    private func layoutMismatch(stored: String) -> StoreError {
        .unavailable(
            "Redis holds state laid out in \(stored) shards (key '\(keys.layoutRecord)') but this replica runs with PROXY_REDIS_SHARDS=\(keys.shardCount) (--redis-shards); the running deployment's request ids and keys would not be found. Start this replica with PROXY_REDIS_SHARDS=\(stored), or change the count only on an empty Redis (drain every replica, then delete '\(keys.layoutRecord)')")
    }
}

/// The scripts with their SHA1s computed once.
struct LoadedScripts: Sendable {
    let create = RedisScript(Scripts.create.source)
    let claimIdempotencyKey = RedisScript(Scripts.claimIdempotencyKey.source)
    let layout = RedisScript(Scripts.layout.source)
    let read = RedisScript(Scripts.read.source)
    let leaseInbox = RedisScript(Scripts.leaseInbox.source)
    let leasePush = RedisScript(Scripts.leasePush.source)
    let answer = RedisScript(Scripts.answer.source)
    let sweep = RedisScript(Scripts.sweep.source)
    let renew = RedisScript(Scripts.renew.source)
    let release = RedisScript(Scripts.release.source)
    let deferDelivery = RedisScript(Scripts.deferDelivery.source)
    let registerEndpoint = RedisScript(Scripts.registerEndpoint.source)
    let publishSchema = RedisScript(Scripts.publishSchema.source)
    let stats = RedisScript(Scripts.stats.source)
    let rateLimit = RedisScript(Scripts.rateLimit.source)
    let markSyftBox = RedisScript(Scripts.markSyftBox.source)
    let adminPage = RedisScript(Scripts.adminPage.source)
    let cancel = RedisScript(Scripts.cancel.source)
    let retry = RedisScript(Scripts.retry.source)
    let deleteFailed = RedisScript(Scripts.deleteFailed.source)
    let queues = RedisScript(Scripts.queues.source)
    let purge = RedisScript(Scripts.purge.source)
    let heartbeat = RedisScript(Scripts.heartbeat.source)
    let endpoints = RedisScript(Scripts.endpoints.source)
    let endpointHealth = RedisScript(Scripts.endpointHealth.source)
}
