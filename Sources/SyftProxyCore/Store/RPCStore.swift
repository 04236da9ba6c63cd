/// What a new request needs; the store fills in state, attempts and timestamps.
public struct NewRequest: Sendable, Equatable {
    public var id: String
    public var appName: String
    public var funcName: String
    public var destination: String
    public var sender: String?
    public var params: JSONObject
    public var headers: [String: String]
    public var timeout: Double
    public var endpoint: String?
    public var traceparent: String?
    /// `params` as compact JSON, when the caller has it already (the size check encodes it):
    /// an Idempotency-Key's digest and the store use it instead of encoding again.
    public var encodedParams: [UInt8]?

    public init(id: String, appName: String, funcName: String, destination: String, sender: String?,
                params: JSONObject, headers: [String: String], timeout: Double,
                endpoint: String? = nil, traceparent: String? = nil, encodedParams: [UInt8]? = nil) {
        self.id = id
        self.appName = appName
        self.funcName = funcName
        self.destination = destination
        self.sender = sender
        self.params = params
        self.headers = headers
        self.timeout = timeout
        self.endpoint = endpoint
        self.traceparent = traceparent
        self.encodedParams = encodedParams
    }

    /// `params` as compact JSON, encoded once at most.
    public var compactParams: [UInt8] { encodedParams ?? JSONValue.object(params).compactBytes }
}

public enum CreateOutcome: Sendable, Equatable {
    case created(RPCRecord)
    /// An Idempotency-Key seen before: the first request, untouched.
    case duplicate(RPCRecord)

    public var record: RPCRecord {
        switch self {
        case .created(let record), .duplicate(let record): record
        }
    }
}

public enum AnswerOutcome: Sendable, Equatable {
    case accepted(RPCRecord)
    /// Completed, failed or timed out before this answer came; nothing changed.
    case alreadyFinal(RPCRecord)
    /// A lease holder answered with a token that is no longer the request's: its lease
    /// expired and the request went out again. Nothing changed; the current holder answers.
    case leaseLost(RPCRecord)
    case notFound
}

/// What renewing a lease found.
public enum LeaseRenewal: Sendable, Equatable {
    /// The lease is the caller's and now runs for another lease period.
    case renewed
    /// The request is still open but no longer leased with this token (it expired and went
    /// out again, or was released): the caller must stop acting on it, and leave alone what
    /// the next holder may be using.
    case lost
    /// The request ended (answered, failed, timed out) or expired.
    case ended
}

public enum SchemaPublishOutcome: Sendable, Equatable {
    case stored
    case ownedByAnother(owner: String)
}

/// A request leased to the push forwarder, with the URL its app registered.
public struct PushDelivery: Sendable, Equatable {
    public var record: RPCRecord
    public var url: String

    public init(record: RPCRecord, url: String) {
        self.record = record
        self.url = url
    }
}

/// What one sweep changed, for logs and metrics.
public struct SweepReport: Sendable, Equatable {
    public var timedOut: Int = 0
    public var redelivered: Int = 0
    public var exhausted: Int = 0
    /// Ids of ended requests taken off pull queues.
    public var trimmedIDs: Int = 0
    /// Pull queues found empty and forgotten.
    public var forgottenQueues: Int = 0
    public init(timedOut: Int = 0, redelivered: Int = 0, exhausted: Int = 0, trimmedIDs: Int = 0, forgottenQueues: Int = 0) {
        self.timedOut = timedOut
        self.redelivered = redelivered
        self.exhausted = exhausted
        self.trimmedIDs = trimmedIDs
        self.forgottenQueues = forgottenQueues
    }
}

public struct StoreStats: Sendable, Equatable {
    /// Requests waiting for a pull consumer, over all apps and destinations.
    public var queuedForPull: Int
    /// Requests waiting for the push forwarder.
    public var queuedForPush: Int
    /// Deliveries out on a lease.
    public var leased: Int

    public init(queuedForPull: Int, queuedForPush: Int, leased: Int) {
        self.queuedForPull = queuedForPull
        self.queuedForPush = queuedForPush
        self.leased = leased
    }
}

public struct StoreSettings: Sendable, Equatable {
    /// How long a request's record (and its Idempotency-Key) outlives the request
    /// (PROXY_REQUEST_TTL): counted from its deadline while it is open, from its end after.
    public var requestTTL: Double
    /// Deliveries whose lease expired before the request fails (PROXY_MAX_ATTEMPTS).
    public var maximumAttempts: Int
    /// How long a pull or push delivery may take before it is delivered again (PROXY_LEASE_SECONDS).
    public var leaseSeconds: Double

    /// How long a failed request's record is kept as a dead letter, from its failure
    /// (PROXY_FAILED_TTL); at least `requestTTL`.
    public var failedTTL: Double
    /// Who this replica is, as the timeline names the push forwarder that took a lease.
    public var replicaID: String

    public init(requestTTL: Double = 3600, maximumAttempts: Int = 3, leaseSeconds: Double = 30,
                failedTTL: Double = AdminLimits.defaultFailedTTL, replicaID: String = "") {
        self.requestTTL = requestTTL
        self.maximumAttempts = maximumAttempts
        self.leaseSeconds = leaseSeconds
        self.failedTTL = max(failedTTL, requestTTL)
        self.replicaID = replicaID
    }
}

/// Where request state lives. Every transition two replicas could race on is one method here,
/// so a shared store (Redis) can make each one atomic and an embedded store can take a lock.
///
/// Queueing model: each (app, destination) pair has a FIFO queue. When the pair has a push
/// URL registered, its requests go to the push queue instead, which every replica's forwarder
/// drains. Both kinds of delivery are leases: if a delivery is not answered within the lease
/// (the consumer or replica died), ``sweep()`` puts the request back, up to
/// ``StoreSettings/maximumAttempts`` deliveries.
public protocol RPCStore: Sendable {
    /// "memory" or "redis", as GET / reports it.
    var backendName: String { get }

    /// The backend's deployment and reachable nodes, as GET / and /ready report them.
    var topology: StoreTopology { get }

    /// Fails when the store cannot be reached; /ready uses it.
    func ping() async throws

    /// A new request's id (lower-case UUID text, ``RequestIDs``). Requests passed to
    /// ``create(_:idempotencyKey:)`` must carry ids made here for their app and destination:
    /// a sharded store puts the request's place in its id. An id that does not decode to a
    /// place is unknown to every lookup.
    func makeRequestID(appName: String, destination: String) -> String

    /// Stores and enqueues requests (a broadcast is one call): all-or-nothing on the memory
    /// store; on the sharded Redis store all-or-nothing per shard, so a failure may leave the
    /// requests of the shards already done. Requests whose params are equal (a broadcast's)
    /// share one stored copy (per shard). An `idempotencyKey` applies to
    /// a single request: a repeat of the same request returns the first one; the same key for
    /// another request throws ``IdempotencyKeyReused`` and stores nothing. A record lives
    /// until its deadline plus ``StoreSettings/requestTTL``, then the TTL from its end.
    ///
    /// With `consumer` (the local fast path: a consumer on this replica has room for one more
    /// request of the pair), a single request without an Idempotency-Key whose pair has no
    /// push endpoint and nothing queued is leased to that consumer in the same step, instead of
    /// being queued and announced: it comes back `processing`, on its first attempt, with its
    /// lease token, and the caller hands it to the consumer. It is stored and leased like any
    /// other, so if that consumer or this replica dies, the lease's expiry delivers it again.
    /// In every other case `consumer` is ignored and the request is queued as usual (`pending`).
    func create(_ requests: [NewRequest], idempotencyKey: IdempotencyKey?, leasingTo consumer: InboxConsumer?) async throws -> [CreateOutcome]

    /// The record, or nil when unknown or expired. A pending request whose deadline has passed
    /// is reported failed even if no sweep has run yet.
    func record(id: String) async throws -> RPCRecord?

    /// Leases up to `max` queued requests of one app and destination, oldest first; each
    /// becomes `processing` with one more attempt. Marks the pair as served by a consumer
    /// (``hasActivePullConsumer(appName:destination:)``); with `max` 0 it only does that,
    /// which a full WebSocket uses to keep its pair's mark fresh.
    func leaseInbox(appName: String, destination: String, max: Int, consumer: InboxConsumer) async throws -> [RPCRecord]

    /// Leases up to `max` requests from the push queue, with their registered URLs.
    func leasePush(max: Int) async throws -> [PushDelivery]

    /// Extends a delivery's lease, when `token` (the record's ``RPCRecord/leaseToken`` as it was
    /// leased) is still the request's.
    func renewLease(id: String, token: String) async throws -> LeaseRenewal

    /// Puts a request back to its queue at once, as if its lease had expired, without
    /// counting a failed attempt for a delivery that never reached the app. Does nothing
    /// unless `token` is still the request's.
    /// True when it did; false when the token is not the request's current lease.
    @discardableResult
    func releaseLease(id: String, token: String) async throws -> Bool

    /// Ends a lease at once as if it had expired, for a consumer that dropped while holding it
    /// (a WebSocket that closed or stopped answering pings): the attempt counts, so a request
    /// that keeps killing its consumer still ends after ``StoreSettings/maximumAttempts``.
    /// The request goes back to the front of its queue, or fails when its attempts are used
    /// up. False, and nothing changed, when `token` is not the request's current lease.
    @discardableResult
    func dropLease(id: String, token: String) async throws -> Bool

    /// Keeps a delivery leased for `seconds` more without counting its attempt, for a push
    /// that did not reach the app (connection refused, the endpoint at its share of the
    /// forwarder slots): no forwarder takes it meanwhile, and ``sweep()`` puts it back on its
    /// queue once that lease passes. False, and nothing changes, when `token` is no longer the
    /// request's lease (answered, failed, swept, taken over).
    func deferDelivery(id: String, token: String, by seconds: Double) async throws -> Bool

    /// Records an answer unless the request is already final. With a `leaseToken`, the
    /// answer comes from a lease holder (the push forwarder) and counts only while that lease
    /// is the current one; without one (App B's POST /rpc/reply, a SyftBox answer file) it
    /// counts while the request is open.
    func answer(id: String, with answer: RPCAnswer, leaseToken: String?) async throws -> AnswerOutcome

    /// Fails the request as timed out if it is still unanswered past its deadline; returns
    /// the record as it now is.
    func expireIfOverdue(id: String) async throws -> RPCRecord?

    /// Fails overdue requests and redelivers (or fails) expired leases, then takes one step of
    /// the walk over the pull queues (``QueueMaintenance``): ids of ended requests leave the
    /// queues, empty queues and idle pairs are forgotten. Work per call is bounded.
    func sweep() async throws -> SweepReport

    /// Waits until the request is final or `deadline` (Unix seconds by this process's clock)
    /// passes, then returns the record as it is; a blocking caller is woken as soon as the
    /// answer lands. The store's clock decides timeouts, so a request may still be open when
    /// this process's clock says its deadline passed.
    func waitForFinal(id: String, until deadline: Double) async throws -> RPCRecord?

    /// A blocking send: ``create(_:idempotencyKey:)`` for one request, `accepted` with its
    /// outcome as soon as it is stored, then ``waitForFinal(id:until:)`` on the request the
    /// outcome stands for (the first one, for a repeated Idempotency-Key). Returns the outcome
    /// and the record as the wait left it; nil when the store accepted nothing. A store can
    /// start watching for the answer before the request exists, which saves reading it back.
    /// `consumer` is as for ``create(_:idempotencyKey:leasingTo:)``: `accepted` sees the lease.
    func createAndWait(_ request: NewRequest, idempotencyKey: IdempotencyKey?, leasingTo consumer: InboxConsumer?, accepted: @Sendable (CreateOutcome) -> Void) async throws -> (outcome: CreateOutcome, current: RPCRecord)?

    /// Returns when work for this app and destination may have arrived, or at `deadline`.
    /// A spurious return is allowed; the caller leases again to find out.
    func waitForInbox(appName: String, destination: String, until deadline: Double) async throws

    /// Returns when push work may have arrived, or at `deadline`.
    func waitForPushWork(until deadline: Double) async throws

    func publishSchema(appName: String, schema: JSONValue, owner: String?) async throws -> SchemaPublishOutcome
    func schema(appName: String) async throws -> JSONValue?

    /// Routes the pair's requests, queued and future, to the push forwarder.
    func registerPushEndpoint(appName: String, destination: String, url: String) async throws
    /// ``registerPushEndpoint(appName:destination:url:)`` in one atomic step with the check that
    /// the pair has no endpoint; false (and nothing changed) when it has one. Automatic routing
    /// uses it so a registration made meanwhile is never overwritten.
    func registerPushEndpointIfAbsent(appName: String, destination: String, url: String) async throws -> Bool
    /// Routes the pair back to pull delivery; false when none was registered. Work the pair
    /// has on the push queue stays there: ``leasePush(max:)`` hands each request back to the
    /// pair's pull queue when it reaches it, in order, behind requests sent after the removal.
    func removePushEndpoint(appName: String, destination: String) async throws -> Bool
    func pushEndpoint(appName: String, destination: String) async throws -> String?

    /// Whether anyone leased this pair's inbox (GET /rpc/inbox) within the last
    /// ``pullConsumerWindow`` seconds: a pull consumer is serving it.
    func hasActivePullConsumer(appName: String, destination: String) async throws -> Bool

    /// Bounded work, whatever the number of queues. On a store that cannot count every queue
    /// at once (Redis with more than ``QueueMaintenance/queuesPerStep`` queues),
    /// `queuedForPull` is the total of the last complete walk over the pull queues.
    func stats() async throws -> StoreStats

    /// Counts `cost` against `limit` per `window` seconds for `key`, shared by every replica
    /// on the store: `limit` may be spent at once, after which the budget refills evenly
    /// (GCRA), so no instant lets a second full budget through. A refused request consumes
    /// nothing.
    func consumeRateLimit(key: String, cost: Int, limit: Int, window: Double) async throws -> RateLimitDecision

    /// Records that the SyftBox transport is about to write the request's file as `sender`
    /// (``RPCRecord/syftBoxSender``), so that file, and the answer beside it, are known as this
    /// deployment's own. With a `leaseToken` only while that lease is the current one; without
    /// one while the request is open. False, and nothing changed, otherwise: the caller then
    /// writes nothing.
    func markSyftBoxDelivery(id: String, sender: String, leaseToken: String?) async throws -> Bool

    // MARK: Operator console. None of these run on the send/answer path.

    /// A page of an admin index, newest first, after the query's cursor: bounded work per page
    /// (on a sharded store, at most shards x limit index entries), entries of expired records
    /// skipped.
    func adminRequests(_ query: AdminQuery) async throws -> AdminPage
    /// The record with its failure class and timeline; nil when unknown or expired.
    func adminRequest(id: String) async throws -> AdminRecord?
    /// Fails an open request with `message` as `failure` (``FailureClass/cancelled``), waking a
    /// blocking caller as any final answer does; ``AdminActionOutcome/notApplicable(_:)`` when
    /// it is already final.
    func cancel(id: String, as failure: FailureClass, message: String) async throws -> AdminActionOutcome
    /// A failed request goes back to pending on its queue with a fresh deadline from its
    /// timeout and no attempts counted; its timeline keeps the history.
    func retry(id: String) async throws -> AdminActionOutcome
    /// Removes a failed request's record (and its dead letter).
    func deleteFailed(id: String) async throws -> AdminActionOutcome
    /// Pull queues with work, per (app, destination), and push work (per shard on a sharded
    /// store); at most ``AdminLimits/maximumQueuesListed`` queues per shard.
    func queues() async throws -> [QueueSummary]
    /// Fails up to ``AdminLimits/maximumPurge`` queued requests of the pair as
    /// ``FailureClass/purged`` with `message`; returns how many, and how many are still queued.
    func purgeQueue(appName: String, destination: String, message: String) async throws -> (purged: Int, remaining: Int)
    /// Stores the replica's heartbeat, stamped with the store's time, for
    /// ``AdminLimits/heartbeatTTL``.
    func publishHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws
    /// Heartbeats of replicas heard from within ``AdminLimits/heartbeatTTL``, by id.
    func replicas() async throws -> [ReplicaHeartbeat]
    /// Registered push (and SyftBox) endpoints and pairs with a pull consumer seen within
    /// ``pullConsumerWindow``, with their health; at most ``AdminLimits/maximumQueuesListed``
    /// per shard.
    func endpoints() async throws -> [EndpointSummary]
    /// Merges push forwarders' reports into the endpoints' health
    /// (``EndpointHealth/merging(_:)``). Replicas send them at most once a second.
    func recordEndpointHealth(_ reports: [EndpointHealthReport]) async throws
}

/// How long an inbox poll marks its pair as served by a pull consumer.
public let pullConsumerWindow: Double = 60

/// Who leases from a pull queue, as a request's timeline names the lease holder.
public enum InboxConsumer: Sendable {
    /// `GET /rpc/inbox`, or an app's SDK in pull mode.
    case pull
    /// A `GET /rpc/connect` socket.
    case webSocket

    /// How a request's timeline names this lease holder on replica `replicaID`.
    public func timelineHolder(replicaID: String) -> String {
        switch self {
        case .pull: TimelineHolders.pull
        case .webSocket: TimelineHolders.webSocket(replicaID)
        }
    }
}

extension RPCStore {
    public var topology: StoreTopology { .embedded }

    /// A pull consumer's lease.
    public func leaseInbox(appName: String, destination: String, max: Int) async throws -> [RPCRecord] {
        try await leaseInbox(appName: appName, destination: destination, max: max, consumer: .pull)
    }

    /// A random id: for stores that find a request by its id alone.
    public func makeRequestID(appName: String, destination: String) -> String { RequestIDs.random() }

    /// An answer that does not come from a lease holder.
    public func answer(id: String, with answer: RPCAnswer) async throws -> AnswerOutcome {
        try await self.answer(id: id, with: answer, leaseToken: nil)
    }

    /// Requests queued for any consumer.
    public func create(_ requests: [NewRequest], idempotencyKey: IdempotencyKey?) async throws -> [CreateOutcome] {
        try await create(requests, idempotencyKey: idempotencyKey, leasingTo: nil)
    }

    /// A blocking send queued for any consumer.
    public func createAndWait(_ request: NewRequest, idempotencyKey: IdempotencyKey?, accepted: @Sendable (CreateOutcome) -> Void) async throws -> (outcome: CreateOutcome, current: RPCRecord)? {
        try await createAndWait(request, idempotencyKey: idempotencyKey, leasingTo: nil, accepted: accepted)
    }

    public func createAndWait(_ request: NewRequest, idempotencyKey: IdempotencyKey?, leasingTo consumer: InboxConsumer?, accepted: @Sendable (CreateOutcome) -> Void) async throws -> (outcome: CreateOutcome, current: RPCRecord)? {
        guard let outcome = try await create([request], idempotencyKey: idempotencyKey, leasingTo: consumer).first else { return nil }
        accepted(outcome)
        let record = outcome.record
        return (outcome, try await waitForFinal(id: record.id, until: record.deadline) ?? record)
    }
}

public struct RateLimitDecision: Sendable, Equatable {
    public var allowed: Bool
    public var limit: Int
    /// Requests of cost 1 that would be allowed right now.
    public var remaining: Int
    /// Allowed: seconds until the budget is full again. Refused: seconds until this request
    /// would be allowed (for cost 1, until a request is allowed again; for a cost above the
    /// limit, which is never allowed, until the budget is full).
    public var resetAfter: Double

    public init(allowed: Bool, limit: Int, remaining: Int, resetAfter: Double) {
        self.allowed = allowed
        self.limit = limit
        self.remaining = remaining
        self.resetAfter = resetAfter
    }
}

/// Failures a store reports; the API turns them into 503.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    case unavailable(String)
    case corrupt(String)

    public var description: String {
        switch self {
        case .unavailable(let why): "store unavailable: \(why)"
        case .corrupt(let why): "store returned unreadable data: \(why)"
        }
    }
}
