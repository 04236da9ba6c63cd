import Logging
import SyftProxyCore
import SyftProxyRedis

/// The shared store: all request state in Redis, every transition one Lua script, wake-ups
/// over one pub/sub channel. A replica holds a fixed pool of command connections plus one
/// subscriber connection, however many callers wait on it: waiters park on in-process
/// tickets, never on a Redis connection. `service` runs both; nothing works before it runs.
public final class RedisStore: RPCStore {
    public let backendName = "redis"
    public let settings: StoreSettings
    let pool: RedisConnectionPool
    let keys: RedisKeys
    let subscriber: RedisSubscriber
    private let scripts: LoadedScripts
    private let wakeups: StoreWakeups
    private var finals: WakeupRegistry<String> { wakeups.finals }
    private var queueWaiters: WakeupRegistry<String> { wakeups.queueWaiters }
    /// A wake-up lost while the subscriber reconnects costs at most this much latency.
    static let recheckInterval = 2.0
    static let sweepBatch = 500

    public init(pool: RedisConnectionPool, settings: StoreSettings, namespace: String = "{syft}", logger: Logger = Logger(label: "syft-proxy.redis-store")) {
        self.pool = pool
        self.settings = settings
        let keys = RedisKeys(namespace: namespace)
        self.keys = keys
        self.scripts = LoadedScripts()
        let wakeups = StoreWakeups(pushQueue: keys.pushQueue)
        self.wakeups = wakeups
        self.subscriber = RedisSubscriber(
            configuration: pool.configuration, channels: [keys.events], logger: logger,
            onMessage: { _, payload in
                guard let event = WakeupEvent(parsing: payload) else { return }
                wakeups.route(event)
            },
            onSubscribed: { wakeups.subscribed() })
    }

    /// The connections this store works through, as one service: the command pool and the
    /// subscriber (with its keep-alive PING). Start it before serving; on graceful shutdown it
    /// closes them, so stop it after everything that uses the store.
    public var service: RedisStoreService { RedisStoreService(store: self) }

    /// True once Redis confirmed the subscription and the connection is still up: wake-ups
    /// published from now on reach this replica.
    public var isSubscribed: Bool { wakeups.hasSubscribed && subscriber.isConnected }

    /// Callers parked on this replica (blocking sends, inbox long-polls, push workers).
    public var waiterCount: Int { finals.waiterCount + queueWaiters.waiterCount }

    // MARK: RPCStore

    public func ping() async throws {
        do { try await pool.ping() } catch { throw StoreError.unavailable("\(error)") }
    }

    public func create(_ requests: [NewRequest], idempotencyKey: IdempotencyKey?) async throws -> [CreateOutcome] {
        guard let first = requests.first else { return [] }
        // A broadcast's requests carry one params value; Array equality sees the shared storage
        // at once, so this costs a comparison per request, not a walk of the params.
        let sharesParams = requests.count > 1 && requests.dropFirst().allSatisfy { $0.params == first.params }
        var args: [String] = [
            String(Int((settings.requestTTL * 1000).rounded(.up))),
            idempotencyKey.map(keys.idempotency) ?? "",
            idempotencyKey?.requestDigest ?? "",
            sharesParams ? keys.sharedParams(firstID: first.id) : "",
            sharesParams ? JSONValue.object(first.params).compactString : "",
            String(requests.count),
        ]
        args.reserveCapacity(args.count + requests.count * 10)
        for request in requests {
            args.append(request.id)
            args.append(request.appName)
            args.append(request.funcName)
            args.append(request.destination)
            args.append(request.sender ?? "")
            args.append(sharesParams ? "" : JSONValue.object(request.params).compactString)
            args.append(RecordCoding.headersJSON(request.headers))
            args.append(JSONValue.format(request.timeout))
            args.append(request.endpoint ?? "")
            args.append(request.traceparent ?? "")
        }
        let reply = try await evaluate(scripts.create, args)
        guard let parts = reply.array, let tag = parts.first?.string else { throw StoreError.corrupt("create answered \(reply)") }
        if tag == "dup", parts.count > 1, let record = try RecordCoding.record(from: parts[1]) {
            return [.duplicate(record)]
        }
        if tag == "reused" { throw IdempotencyKeyReused() }
        guard tag == "ok", parts.count > 1, let created = parts[1].string.flatMap(Double.init) else {
            throw StoreError.corrupt("create answered \(reply)")
        }
        // The script stored exactly these fields; building the records here saves a read.
        return requests.map { request in
            .created(RPCRecord(
                id: request.id, appName: request.appName, funcName: request.funcName, destination: request.destination,
                sender: request.sender, params: request.params, headers: request.headers, createdAt: created,
                deadline: created + request.timeout, endpoint: request.endpoint, traceparent: request.traceparent))
        }
    }

    public func record(id: String) async throws -> RPCRecord? {
        try RecordCoding.record(from: try await evaluate(scripts.read, [id]))
    }

    public func leaseInbox(appName: String, destination: String, max: Int) async throws -> [RPCRecord] {
        let reply = try await evaluate(scripts.leaseInbox, [appName, destination, String(max), String(settings.leaseSeconds), Self.consumerWindowText])
        return try (reply.array ?? []).compactMap { try RecordCoding.record(from: $0) }
    }

    public func leasePush(max: Int) async throws -> [PushDelivery] {
        let reply = try await evaluate(scripts.leasePush, [String(max), String(settings.leaseSeconds), String(max + QueueMaintenance.idsPerPushLease)])
        return try (reply.array ?? []).compactMap { pair in
            guard let parts = pair.array, parts.count == 2, let url = parts[0].string,
                let record = try RecordCoding.record(from: parts[1])
            else { return nil }
            return PushDelivery(record: record, url: url)
        }
    }

    public func renewLease(id: String, token: String) async throws -> LeaseRenewal {
        switch try await evaluate(scripts.renew, [id, String(settings.leaseSeconds), token]).int {
        case 1: .renewed
        case 0: .lost
        default: .ended
        }
    }

    @discardableResult
    public func releaseLease(id: String, token: String) async throws -> Bool {
        try await evaluate(scripts.release, [id, token]).int == 1
    }

    public func deferDelivery(id: String, token: String, by seconds: Double) async throws -> Bool {
        try await evaluate(scripts.deferDelivery, [id, JSONValue.format(seconds), token]).int == 1
    }

    public func markSyftBoxDelivery(id: String, sender: String, leaseToken: String?) async throws -> Bool {
        try await evaluate(scripts.markSyftBox, [id, sender, leaseToken ?? ""]).int == 1
    }

    public func answer(id: String, with answer: RPCAnswer, leaseToken: String?) async throws -> AnswerOutcome {
        let args: [String]
        switch answer {
        case .result(let value): args = [id, "result", value.compactString, leaseToken ?? ""]
        case .error(let message): args = [id, "error", message, leaseToken ?? ""]
        }
        // A sender blocked on this replica is woken from here, with the final record, instead of
        // by the published wake-up followed by a read; senders on other replicas get the latter.
        var final: RPCRecord?
        wakeups.beginAnswering(id)
        // Whatever happened (even a lost reply), local senders wake; without a record they read.
        defer { wakeups.endAnswering(id, final: final) }
        let reply = try await evaluate(scripts.answer, args)
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

    public func sweep() async throws -> SweepReport {
        let reply = try await evaluate(scripts.sweep, [String(settings.maximumAttempts), JSONValue.format(settings.leaseSeconds), String(Self.sweepBatch)])
        let counts = (reply.array ?? []).map { Int($0.int ?? 0) }
        guard counts.count == 3 else { throw StoreError.corrupt("sweep answered \(reply)") }
        var report = SweepReport(timedOut: counts[0], redelivered: counts[1], exhausted: counts[2])
        // After the sweep, so requests it just failed are trimmed in the same tick.
        let trim = try await evaluate(scripts.trimQueues, Self.trimArguments)
        let trimCounts = (trim.array ?? []).map { Int($0.int ?? 0) }
        guard trimCounts.count == 3 else { throw StoreError.corrupt("queue trim answered \(trim)") }
        report.trimmedIDs = trimCounts[0]
        report.forgottenQueues = trimCounts[1]
        return report
    }

    static let trimArguments = [QueueMaintenance.queuesPerStep, QueueMaintenance.idsPerStep, QueueMaintenance.idsPerQueue].map(String.init)

    public func waitForFinal(id: String, until deadline: Double) async throws -> RPCRecord? {
        let ticket = finals.register(id)
        defer { finals.unregister(ticket) }
        return try await waitForFinal(ticket, id: id, until: deadline, known: nil)
    }

    /// Arms the wait before the request exists, so its answer cannot slip by unseen, and starts
    /// from the record the create built: no read before the first wake-up.
    public func createAndWait(_ request: NewRequest, idempotencyKey: IdempotencyKey?, accepted: @Sendable (CreateOutcome) -> Void) async throws -> (outcome: CreateOutcome, current: RPCRecord)? {
        let ticket = finals.register(request.id)
        defer { finals.unregister(ticket) }
        guard let outcome = try await create([request], idempotencyKey: idempotencyKey).first else { return nil }
        accepted(outcome)
        switch outcome {
        case .created(let record):
            return (outcome, try await waitForFinal(ticket, id: record.id, until: record.deadline, known: record) ?? record)
        case .duplicate(let record):
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
        try await waitForWork(in: keys.queue(QueueName(appName: appName, destination: destination)), until: deadline)
    }

    public func waitForPushWork(until deadline: Double) async throws {
        try await waitForWork(in: keys.pushQueue, until: deadline)
    }

    private func waitForWork(in list: String, until deadline: Double) async throws {
        let ticket = queueWaiters.register(list)
        defer { queueWaiters.unregister(ticket) }
        // Work queued between the caller's empty lease and the registration above published its
        // wake-up before anyone listened; the length check catches it instead of the re-check tick.
        if (try await command(["LLEN", list]).int ?? 0) > 0 { return }
        await queueWaiters.wait(ticket, until: min(deadline, Timestamp.now() + Self.recheckInterval))
    }

    public func publishSchema(appName: String, schema: JSONValue, owner: String?) async throws -> SchemaPublishOutcome {
        let reply = try await evaluate(scripts.publishSchema, [appName, schema.compactString, owner ?? ""])
        guard let parts = reply.array, let tag = parts.first?.string else { throw StoreError.corrupt("schema answered \(reply)") }
        if tag == "owned", parts.count > 1, let owner = parts[1].string { return .ownedByAnother(owner: owner) }
        return .stored
    }

    public func schema(appName: String) async throws -> JSONValue? {
        let reply = try await command(["HGET", keys.schema(appName), "schema"])
        guard let text = reply.string else { return nil }
        do { return try JSONParser.parse(text) } catch { throw StoreError.corrupt("schema of '\(appName)' is not JSON: \(error)") }
    }

    public func registerPushEndpoint(appName: String, destination: String, url: String) async throws {
        _ = try await evaluate(scripts.registerEndpoint, [appName, destination, url, ""])
    }

    public func registerPushEndpointIfAbsent(appName: String, destination: String, url: String) async throws -> Bool {
        try await evaluate(scripts.registerEndpoint, [appName, destination, url, "nx"]).int != -1
    }

    public func removePushEndpoint(appName: String, destination: String) async throws -> Bool {
        try await evaluate(scripts.removeEndpoint, [appName, destination]).int == 1
    }

    public func pushEndpoint(appName: String, destination: String) async throws -> String? {
        try await command(["GET", keys.endpoint(QueueName(appName: appName, destination: destination))]).string
    }

    public func hasActivePullConsumer(appName: String, destination: String) async throws -> Bool {
        try await command(["EXISTS", keys.consumer(QueueName(appName: appName, destination: destination))]).int == 1
    }

    static let consumerWindowText = String(Int(pullConsumerWindow))

    public func stats() async throws -> StoreStats {
        let counts = (try await evaluate(scripts.stats, [String(QueueMaintenance.queuesPerStep)]).array ?? []).map { Int($0.int ?? 0) }
        guard counts.count == 3 else { throw StoreError.corrupt("stats answered unexpectedly") }
        return StoreStats(queuedForPull: counts[0], queuedForPush: counts[1], leased: counts[2])
    }

    public func consumeRateLimit(key: String, cost: Int, limit: Int, window: Double) async throws -> RateLimitDecision {
        let reply = try await evaluate(scripts.rateLimit, [key, String(cost), String(limit), String(window)])
        guard let parts = reply.array, parts.count == 3, let allowed = parts[0].int, let remaining = parts[1].int,
            let reset = parts[2].string.flatMap(Double.init)
        else { throw StoreError.corrupt("rate limit answered \(reply)") }
        return RateLimitDecision(allowed: allowed == 1, limit: limit, remaining: max(0, Int(remaining)), resetAfter: reset)
    }

    // MARK: Redis access

    func evaluate(_ script: RedisScript, _ args: [String]) async throws -> RESPValue {
        do {
            return try await pool.eval(script, keys: [keys.namespace], args: args)
        } catch let error as RedisError {
            throw Self.storeError(error)
        }
    }

    private func command(_ arguments: [String]) async throws -> RESPValue {
        do {
            return try await pool.send(RedisCommand(arguments))
        } catch let error as RedisError {
            throw Self.storeError(error)
        }
    }

    static func storeError(_ error: RedisError) -> StoreError {
        if case .server(let message) = error { return .corrupt("Redis refused a command: \(message)") }
        return .unavailable("\(error)")
    }
}

/// The scripts with their SHA1s computed once.
struct LoadedScripts: Sendable {
    let create = RedisScript(Scripts.create.source)
    let read = RedisScript(Scripts.read.source)
    let leaseInbox = RedisScript(Scripts.leaseInbox.source)
    let leasePush = RedisScript(Scripts.leasePush.source)
    let answer = RedisScript(Scripts.answer.source)
    let sweep = RedisScript(Scripts.sweep.source)
    let renew = RedisScript(Scripts.renew.source)
    let release = RedisScript(Scripts.release.source)
    let deferDelivery = RedisScript(Scripts.deferDelivery.source)
    let registerEndpoint = RedisScript(Scripts.registerEndpoint.source)
    let removeEndpoint = RedisScript(Scripts.removeEndpoint.source)
    let publishSchema = RedisScript(Scripts.publishSchema.source)
    let stats = RedisScript(Scripts.stats.source)
    let trimQueues = RedisScript(Scripts.trimQueues.source)
    let rateLimit = RedisScript(Scripts.rateLimit.source)
    let markSyftBox = RedisScript(Scripts.markSyftBox.source)
}
