import SyftProxyCore
import SyftProxyRedis

/// A request whose id was not made by this store's `makeRequestID` for its app and
/// destination: its id would not lead back to its shard, so nothing is stored.
public struct ForeignRequestID: Error, Sendable, CustomStringConvertible {
    public let id: String
    public var description: String {
        "request id '\(id)' was not made by this Redis store's makeRequestID(appName:destination:) for its app and destination; create requests with ids from makeRequestID"
    }
}

extension RedisStore {
    /// One create script per shard the requests fall in, run concurrently: each shard's group
    /// is atomic, the call as a whole is not (a failure after some groups were stored leaves
    /// those requests, and the call throws). A single send is one script; with an
    /// Idempotency-Key it is two: a claim on the key's shard, then the create.
    public func create(_ requests: [NewRequest], idempotencyKey: IdempotencyKey?, leasingTo consumer: InboxConsumer?) async throws -> [CreateOutcome] {
        guard let first = requests.first else { return [] }
        var groups: [Int: [Int]] = [:]
        for (index, request) in requests.enumerated() {
            let shard = keys.shard(of: QueueName(appName: request.appName, destination: request.destination))
            guard keys.shard(ofID: request.id) == shard else { throw ForeignRequestID(id: request.id) }
            groups[shard, default: []].append(index)
        }
        if let idempotencyKey {
            guard requests.count == 1 else {
                throw StoreError.corrupt("an Idempotency-Key applies to one request, got \(requests.count)")
            }
            return [try await createClaimed(first, idempotencyKey, shard: keys.shards[groups.keys.first ?? 0])]
        }
        if groups.count == 1 {
            let direct = requests.count == 1 ? consumer : nil
            return try await createGroup(requests, shard: keys.shards[groups.keys.first ?? 0], claim: nil, leasingTo: direct)
        }
        // A broadcast's requests carry one params value; Array equality sees the shared storage
        // at once, so this costs a comparison per request, not a walk of the params.
        return try await withThrowingTaskGroup(of: [(Int, CreateOutcome)].self) { group in
            for (shard, indices) in groups {
                group.addTask {
                    let outcomes = try await self.createGroup(indices.map { requests[$0] }, shard: self.keys.shards[shard], claim: nil)
                    return Array(zip(indices, outcomes))
                }
            }
            var ordered = [CreateOutcome?](repeating: nil, count: requests.count)
            for try await placed in group { for (index, outcome) in placed { ordered[index] = outcome } }
            return ordered.compactMap { $0 }
        }
    }

    /// Step one claims the key on the key's shard (or finds its claim: the first request's id
    /// and digest); step two creates the claimed id on the request's shard, or finds it
    /// created. A crash between the steps leaves a claim without a record, which the retry
    /// (same digest) then creates.
    private func createClaimed(_ request: NewRequest, _ key: IdempotencyKey, shard: ShardKeys) async throws -> CreateOutcome {
        let claimKey = keys.idempotency(key)
        let life = Self.milliseconds(settings.requestTTL) + Int((request.timeout * 1000).rounded(.up))
        let reply = try await evaluate(scripts.claimIdempotencyKey, keys: [claimKey], args: [request.id, key.requestDigest, String(life)])
        guard let parts = reply.array, parts.count == 2, let id = parts[0].string, let digest = parts[1].string else {
            throw StoreError.corrupt("Idempotency-Key claim answered \(reply)")
        }
        guard digest == key.requestDigest else { throw IdempotencyKeyReused() }
        // Equal digests mean the same app and destination, so the claimed id is of this shard.
        guard keys.shard(ofID: id) == shard.index else {
            throw StoreError.corrupt("Idempotency-Key claim '\(claimKey)' names id '\(id)', which is not of shard \(shard.index)")
        }
        var claimed = request
        claimed.id = id
        guard let outcome = try await createGroup([claimed], shard: shard, claim: claimKey).first else {
            throw StoreError.corrupt("create answered nothing")
        }
        return outcome
    }

    private func createGroup(_ requests: [NewRequest], shard: ShardKeys, claim: String?, leasingTo consumer: InboxConsumer? = nil) async throws -> [CreateOutcome] {
        guard let first = requests.first else { return [] }
        let sharesParams = requests.count > 1 && requests.dropFirst().allSatisfy { $0.params == first.params }
        var scriptKeys = shard.scriptKeys
        scriptKeys.reserveCapacity(scriptKeys.count + 1 + requests.count * 3)
        scriptKeys.append(shard.sharedParams(firstID: first.id))
        var args: [String] = [
            String(Self.milliseconds(settings.requestTTL)),
            claim ?? "",
            sharesParams ? "1" : "",
            sharesParams ? String(decoding: first.compactParams, as: UTF8.self) : "",
            String(requests.count),
        ]
        args.reserveCapacity(args.count + requests.count * 10)
        for request in requests {
            let name = QueueName(appName: request.appName, destination: request.destination)
            scriptKeys.append(shard.request(request.id))
            scriptKeys.append(shard.queue(name))
            scriptKeys.append(shard.endpoint(name))
            args.append(request.id)
            args.append(request.appName)
            args.append(request.funcName)
            args.append(request.destination)
            args.append(request.sender ?? "")
            args.append(sharesParams ? "" : String(decoding: request.compactParams, as: UTF8.self))
            args.append(RecordCoding.headersJSON(request.headers))
            args.append(JSONValue.format(request.timeout))
            args.append(request.endpoint ?? "")
            args.append(request.traceparent ?? "")
        }
        args.append(String(Self.milliseconds(settings.failedTTL)))
        args.append(consumer?.timelineHolder(replicaID: settings.replicaID) ?? "")
        args.append(JSONValue.format(settings.leaseSeconds))
        let reply = try await evaluate(scripts.create, keys: scriptKeys, args: args)
        guard let parts = reply.array, let tag = parts.first?.string else { throw StoreError.corrupt("create answered \(reply)") }
        if tag == "dup", parts.count > 1, let record = try RecordCoding.record(from: parts[1]) {
            return [.duplicate(record)]
        }
        guard tag == "ok", parts.count > 3, let created = parts[1].string.flatMap(Double.init) else {
            throw StoreError.corrupt("create answered \(reply)")
        }
        if (parts[2].int ?? 0) > 0 { wakeups.pushQueued(shard.index) }
        let leasedAtOnce = parts[3].int == 1
        // The script stored exactly these fields; building the records here saves a read.
        return requests.map { request in
            var record = RPCRecord(
                id: request.id, appName: request.appName, funcName: request.funcName, destination: request.destination,
                sender: request.sender, params: request.params, headers: request.headers, createdAt: created,
                deadline: created + request.timeout, endpoint: request.endpoint, traceparent: request.traceparent)
            if leasedAtOnce {
                record.state = .processing
                record.attempts = 1
                record.leaseToken = Self.firstLeaseToken
            }
            return .created(record)
        }
    }

    /// The token of a request's first lease: the create script's, as its lease counter starts.
    static let firstLeaseToken = "1"

    static func milliseconds(_ seconds: Double) -> Int { Int((seconds * 1000).rounded(.up)) }
}
