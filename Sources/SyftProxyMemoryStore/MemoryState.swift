import DequeModule
import SyftProxyCore

/// The embedded store's data and its transitions. Every method runs under the store's lock.
struct MemoryState {
    struct Entry {
        var record: RPCRecord
        var expiresAt: Double
        var leaseUntil: Double?
        /// The scoped Idempotency-Key that created it, which lives as long as the record.
        var idempotencyKey: String?
        /// Counts the request's leases; the current one's number is its fencing token.
        var leaseSequence = 0
        /// The caller's timeout, which a retry's fresh deadline is counted from.
        var timeout: Double = 0
        var failure: FailureClass?
        /// Its entry in `failedIndex` while failed.
        var failedEntry: String?
        var timeline: [TimelineEvent] = []

        mutating func log(_ kind: TimelineEvent.Kind, _ detail: String = "", at now: Double) {
            timeline.append(TimelineEvent(at: now, kind: kind, detail: detail))
            if timeline.count > AdminLimits.timelineEvents { timeline.removeFirst(timeline.count - AdminLimits.timelineEvents) }
        }
    }

    let settings: StoreSettings
    var entries: [String: Entry] = [:]
    var pullQueues: [QueueName: Deque<String>] = [:]
    /// Ids on all pull queues, so stats need not add up every queue.
    var pullQueuedCount = 0
    /// Pairs whose pull queue the sweep's walk visits in turn (each once: see `walking`).
    var queueWalk: Deque<QueueName> = []
    var walking: Set<QueueName> = []
    var pushQueue: Deque<String> = []
    var endpoints: [QueueName: String] = [:]
    /// When each pair's inbox was last leased from, within ``pullConsumerWindow``: the sweep
    /// forgets pairs idle for longer, visiting `consumerWalk` in turn.
    var pullConsumerSeen: [QueueName: Double] = [:]
    var consumerWalk: Deque<QueueName> = []
    var schemas: [String: (schema: JSONValue, owner: String?)] = [:]
    var idempotency: [String: (id: String, requestDigest: String, expiresAt: Double)] = [:]
    var deadlines = MinHeap<String>()
    var leases = MinHeap<String>()
    var expiries = MinHeap<String>()
    var idempotencyExpiries = MinHeap<String>()
    var leasedCount = 0
    /// Rate limits: each key's theoretical arrival time (GCRA), see MemoryStore.consumeRateLimit.
    var rateLimits: [String: Double] = [:]
    /// Every live request by creation, and failed ones by failure (``AdminCursor/entry(time:id:)``);
    /// entries leave with their record.
    var requestIndex = SortedEntries()
    var failedIndex = SortedEntries()
    var heartbeats: [String: ReplicaHeartbeat] = [:]
    /// Push endpoints' health; forgotten with the endpoint.
    var endpointHealth: [QueueName: EndpointHealth] = [:]

    init(settings: StoreSettings) { self.settings = settings }

    func liveRecord(id: String, now: Double) -> RPCRecord? {
        guard let entry = entries[id], entry.expiresAt > now else { return nil }
        return entry.record
    }

    /// Records share their params' storage with the requests (a broadcast's requests carry one
    /// copy between them), so nothing here copies params.
    /// `directHolder`: see RPCStore's `create(_:idempotencyKey:leasingTo:)`, the timeline's
    /// name for the consumer that takes the request at once.
    mutating func create(_ requests: [NewRequest], idempotencyKey: IdempotencyKey?, directHolder: String? = nil, now: Double) throws(IdempotencyKeyReused) -> ([CreateOutcome], Wakes) {
        var wakes = Wakes()
        if let idempotencyKey, let seen = idempotency[idempotencyKey.scopedKey], seen.expiresAt > now,
            let first = liveRecord(id: seen.id, now: now)
        {
            guard seen.requestDigest == idempotencyKey.requestDigest else { throw IdempotencyKeyReused() }
            return ([.duplicate(first)], wakes)
        }
        var outcomes: [CreateOutcome] = []
        outcomes.reserveCapacity(requests.count)
        let direct = requests.count == 1 && idempotencyKey == nil ? directHolder : nil
        for request in requests {
            let record = RPCRecord(
                id: request.id, appName: request.appName, funcName: request.funcName,
                destination: request.destination, sender: request.sender, params: request.params,
                headers: request.headers, createdAt: now, deadline: now + request.timeout,
                endpoint: request.endpoint, traceparent: request.traceparent)
            let expiresAt = record.deadline + settings.requestTTL
            var entry = Entry(record: record, expiresAt: expiresAt, idempotencyKey: idempotencyKey?.scopedKey)
            entry.timeout = request.timeout
            entry.log(.created, at: now)
            let name = QueueName(appName: request.appName, destination: request.destination)
            // Never ahead of work already queued for the pair, and never past its push endpoint.
            let leaseAtOnce = direct != nil && endpoints[name] == nil && pullQueues[name]?.isEmpty != false
            if leaseAtOnce, let holder = direct { lease(&entry, now: now, holder: holder) }
            entries[request.id] = entry
            requestIndex.insert(AdminCursor.entry(time: now, id: request.id))
            deadlines.push(request.id, at: record.deadline)
            expiries.push(request.id, at: expiresAt)
            if !leaseAtOnce { enqueue(request.id, name: name, atFront: false, wakes: &wakes) }
            outcomes.append(.created(entry.record))
        }
        if let idempotencyKey, let first = requests.first {
            let expiresAt = now + first.timeout + settings.requestTTL
            idempotency[idempotencyKey.scopedKey] = (first.id, idempotencyKey.requestDigest, expiresAt)
            idempotencyExpiries.push(idempotencyKey.scopedKey, at: expiresAt)
        }
        return (outcomes, wakes)
    }

    mutating func enqueue(_ id: String, name: QueueName, atFront: Bool, wakes: inout Wakes) {
        if endpoints[name] != nil {
            if atFront { pushQueue.prepend(id) } else { pushQueue.append(id) }
            wakes.push = true
        } else {
            if atFront { pullQueues[name, default: []].prepend(id) } else { pullQueues[name, default: []].append(id) }
            pullQueuedCount += 1
            if walking.insert(name).inserted { queueWalk.append(name) }
            wakes.inboxes.append(name)
        }
    }

    /// Takes ids off a queue until `max` pending requests are leased; ids whose request was
    /// answered, timed out or expired while queued are dropped on the way.
    private mutating func lease(from queue: inout Deque<String>, max: Int, now: Double, holder: String) -> [RPCRecord] {
        var leased: [RPCRecord] = []
        while leased.count < max, let id = queue.popFirst() {
            guard var entry = entries[id], entry.expiresAt > now, entry.record.state == .pending else { continue }
            if entry.record.deadline <= now { continue }
            lease(&entry, now: now, holder: holder)
            entries[id] = entry
            leased.append(entry.record)
        }
        return leased
    }

    /// One more delivery of a pending request, fenced by a fresh token.
    private mutating func lease(_ entry: inout Entry, now: Double, holder: String) {
        entry.record.state = .processing
        entry.record.attempts += 1
        entry.record.updatedAt = now
        entry.leaseSequence += 1
        entry.record.leaseToken = String(entry.leaseSequence)
        let until = now + settings.leaseSeconds
        entry.leaseUntil = until
        entry.log(.leased, "\(holder), attempt \(entry.record.attempts)", at: now)
        leases.push(entry.record.id, at: until)
        leasedCount += 1
    }

    mutating func leaseInbox(_ name: QueueName, max: Int, now: Double, holder: String = TimelineHolders.pull) -> [RPCRecord] {
        guard var queue = pullQueues.removeValue(forKey: name) else { return [] }
        let before = queue.count
        let leased = lease(from: &queue, max: max, now: now, holder: holder)
        pullQueuedCount -= before - queue.count
        if !queue.isEmpty { pullQueues[name] = queue }
        return leased
    }

    mutating func leasePush(max: Int, now: Double) -> ([PushDelivery], Wakes) {
        var queue = pushQueue
        pushQueue = []
        var deliveries: [PushDelivery] = []
        var wakes = Wakes()
        let stopAt = Swift.max(0, queue.count - max - QueueMaintenance.idsPerPushLease)
        // A pair whose endpoint was removed while queued goes back to pull delivery, at the back
        // of its queue so the requests handed back keep their order.
        while deliveries.count < max, queue.count > stopAt {
            let batch = lease(from: &queue, max: 1, now: now, holder: TimelineHolders.push(settings.replicaID))
            guard let record = batch.first else { continue }
            let name = QueueName(appName: record.appName, destination: record.destination)
            if let url = endpoints[name] {
                deliveries.append(PushDelivery(record: record, url: url))
            } else {
                undoLease(id: record.id)
                enqueue(record.id, name: name, atFront: false, wakes: &wakes)
            }
        }
        // Usually nothing was pushed meanwhile, and the queue goes back without a copy.
        if pushQueue.isEmpty {
            pushQueue = queue
        } else {
            queue.append(contentsOf: pushQueue)
            pushQueue = queue
        }
        return (deliveries, wakes)
    }

    private mutating func undoLease(id: String) {
        guard var entry = entries[id] else { return }
        entry.record.state = .pending
        entry.record.attempts -= 1
        entry.record.leaseToken = nil
        entry.leaseUntil = nil
        entries[id] = entry
        leasedCount -= 1
    }

    mutating func renewLease(id: String, token: String, now: Double) -> LeaseRenewal {
        guard var entry = entries[id], entry.expiresAt > now, !entry.record.state.isFinal else { return .ended }
        guard entry.record.state == .processing, entry.record.leaseToken == token else { return .lost }
        let until = now + settings.leaseSeconds
        entry.leaseUntil = until
        entries[id] = entry
        leases.push(id, at: until)
        return .renewed
    }

    mutating func releaseLease(id: String, token: String, now: Double) -> (Bool, Wakes) {
        var wakes = Wakes()
        guard var entry = entries[id], entry.record.state == .processing, entry.record.leaseToken == token else { return (false, wakes) }
        entry.record.state = .pending
        entry.record.attempts = max(0, entry.record.attempts - 1)
        entry.record.updatedAt = now
        entry.record.leaseToken = nil
        entry.leaseUntil = nil
        entry.log(.released, at: now)
        entries[id] = entry
        leasedCount -= 1
        enqueue(id, name: QueueName(appName: entry.record.appName, destination: entry.record.destination), atFront: true, wakes: &wakes)
        return (true, wakes)
    }

    mutating func dropLease(id: String, token: String, now: Double) -> (Bool, Wakes) {
        var wakes = Wakes()
        guard let entry = entries[id], entry.record.state == .processing, entry.record.leaseToken == token else { return (false, wakes) }
        failIfOverdue(id: id, now: now, wakes: &wakes)
        guard var entry = entries[id], entry.record.state == .processing else { return (true, wakes) }
        if entry.record.attempts >= settings.maximumAttempts {
            fail(id: id, message: FailureMessages.consumerDropped(attempts: entry.record.attempts), as: .attemptsExhausted, now: now, wakes: &wakes)
            return (true, wakes)
        }
        entry.record.state = .pending
        entry.record.updatedAt = now
        entry.record.leaseToken = nil
        entry.leaseUntil = nil
        entry.log(.dropped, "the consumer went away; attempt \(entry.record.attempts) counted", at: now)
        entries[id] = entry
        leasedCount -= 1
        enqueue(id, name: QueueName(appName: entry.record.appName, destination: entry.record.destination), atFront: true, wakes: &wakes)
        return (true, wakes)
    }

    mutating func deferDelivery(id: String, token: String, by seconds: Double, now: Double) -> Bool {
        guard var entry = entries[id], entry.record.state == .processing, entry.leaseUntil != nil, entry.record.leaseToken == token else { return false }
        let until = now + seconds
        entry.record.attempts = max(0, entry.record.attempts - 1)
        entry.record.updatedAt = now
        entry.leaseUntil = until
        entry.log(.deferred, "\(JSONValue.format(seconds)) s", at: now)
        entries[id] = entry
        leases.push(id, at: until)
        return true
    }

    mutating func markSyftBoxDelivery(id: String, sender: String, leaseToken: String?, now: Double) -> Bool {
        guard var entry = entries[id], entry.expiresAt > now, !entry.record.state.isFinal, entry.record.deadline > now else { return false }
        if let leaseToken, entry.record.state != .processing || entry.record.leaseToken != leaseToken { return false }
        entry.record.syftBoxSender = sender
        entry.log(.syftBox, sender, at: now)
        entries[id] = entry
        return true
    }

    mutating func answer(id: String, with answer: RPCAnswer, leaseToken: String?, now: Double) -> (AnswerOutcome, Wakes) {
        var wakes = Wakes()
        failIfOverdue(id: id, now: now, wakes: &wakes)
        guard var entry = entries[id], entry.expiresAt > now else { return (.notFound, wakes) }
        guard !entry.record.state.isFinal else { return (.alreadyFinal(entry.record), wakes) }
        if let leaseToken, entry.record.state != .processing || entry.record.leaseToken != leaseToken {
            return (.leaseLost(entry.record), wakes)
        }
        switch answer {
        case .result(let value):
            if entry.leaseUntil != nil { leasedCount -= 1 }
            entry.record.state = .completed
            entry.record.result = value
            entry.record.updatedAt = now
            entry.record.completedAt = now
            entry.record.leaseToken = nil
            entry.leaseUntil = nil
            entry.log(.completed, at: now)
            keepForTTL(&entry, id: id, endedAt: now)
            entries[id] = entry
            wakes.finals.append(id)
        case .error(let message):
            fail(id: id, message: message, as: .appError, now: now, wakes: &wakes)
        case .undeliverable(let message):
            fail(id: id, message: message, as: .undeliverable, now: now, wakes: &wakes)
        }
        return (.accepted(entries[id]?.record ?? entry.record), wakes)
    }

    mutating func fail(id: String, message: String, as failure: FailureClass, now: Double, wakes: inout Wakes) {
        guard var entry = entries[id], !entry.record.state.isFinal else { return }
        if entry.leaseUntil != nil { leasedCount -= 1 }
        entry.record.state = .failed
        entry.record.error = message
        entry.record.updatedAt = now
        entry.record.completedAt = now
        entry.record.leaseToken = nil
        entry.leaseUntil = nil
        entry.failure = failure
        let failedEntry = AdminCursor.entry(time: now, id: id)
        entry.failedEntry = failedEntry
        failedIndex.insert(failedEntry)
        entry.log(.failed, "\(failure.rawValue): \(message)", at: now)
        keepForTTL(&entry, id: id, endedAt: now)
        entries[id] = entry
        wakes.finals.append(id)
    }

    /// An ended request's record and Idempotency-Key live PROXY_REQUEST_TTL from its end; a
    /// failed one PROXY_FAILED_TTL, as a dead letter.
    private mutating func keepForTTL(_ entry: inout Entry, id: String, endedAt now: Double) {
        let expiresAt = now + (entry.record.state == .failed ? settings.failedTTL : settings.requestTTL)
        entry.expiresAt = expiresAt
        expiries.push(id, at: expiresAt)
        if let key = entry.idempotencyKey, var seen = idempotency[key], seen.id == id {
            seen.expiresAt = expiresAt
            idempotency[key] = seen
            idempotencyExpiries.push(key, at: expiresAt)
        }
    }

    mutating func failIfOverdue(id: String, now: Double, wakes: inout Wakes) {
        guard let entry = entries[id], !entry.record.state.isFinal, entry.record.deadline <= now else { return }
        fail(id: id, message: FailureMessages.timedOut(after: entry.timeout), as: .timedOut, now: now, wakes: &wakes)
    }

    mutating func sweep(now: Double) -> (SweepReport, Wakes) {
        var report = SweepReport()
        var wakes = Wakes()
        while let due = deadlines.popDue(at: now) {
            let wasOpen = entries[due.element].map { !$0.record.state.isFinal } ?? false
            failIfOverdue(id: due.element, now: now, wakes: &wakes)
            if wasOpen { report.timedOut += 1 }
        }
        while let due = leases.popDue(at: now) {
            // A renewed lease left an older timer behind; only the current one counts.
            guard let entry = entries[due.element], entry.leaseUntil == due.at, entry.record.state == .processing else { continue }
            if entry.record.attempts >= settings.maximumAttempts {
                entries[due.element]?.log(.leaseExpired, "attempt \(entry.record.attempts)", at: now)
                fail(id: due.element, message: FailureMessages.deliveriesExhausted(attempts: entry.record.attempts, leaseSeconds: settings.leaseSeconds), as: .attemptsExhausted, now: now, wakes: &wakes)
                report.exhausted += 1
            } else {
                var redelivered = entry
                redelivered.record.state = .pending
                redelivered.record.updatedAt = now
                redelivered.record.leaseToken = nil
                redelivered.leaseUntil = nil
                redelivered.log(.leaseExpired, "attempt \(entry.record.attempts), queued again", at: now)
                entries[due.element] = redelivered
                leasedCount -= 1
                enqueue(due.element, name: QueueName(appName: entry.record.appName, destination: entry.record.destination), atFront: true, wakes: &wakes)
                report.redelivered += 1
            }
        }
        while let due = expiries.popDue(at: now) {
            if let entry = entries[due.element], entry.expiresAt <= now {
                if entry.leaseUntil != nil { leasedCount -= 1 }
                forget(due.element, entry)
            }
        }
        while let due = idempotencyExpiries.popDue(at: now) {
            if let seen = idempotency[due.element], seen.expiresAt <= now {
                idempotency.removeValue(forKey: due.element)
            }
        }
        return (report, wakes)
    }

    mutating func registerPushEndpoint(_ name: QueueName, url: String) -> Wakes {
        var wakes = Wakes()
        endpoints[name] = url
        if let queued = pullQueues.removeValue(forKey: name), !queued.isEmpty {
            pullQueuedCount -= queued.count
            pushQueue.append(contentsOf: queued)
            wakes.push = true
        }
        return wakes
    }

    /// The pair's queued push work stays on the push queue; `leasePush` hands it back.
    mutating func removePushEndpoint(_ name: QueueName) -> Bool {
        endpointHealth.removeValue(forKey: name)
        return endpoints.removeValue(forKey: name) != nil
    }

    mutating func markPullConsumer(_ name: QueueName, now: Double) {
        if pullConsumerSeen.updateValue(now, forKey: name) == nil { consumerWalk.append(name) }
    }

    /// One step of the walks over pull queues and pull-consumer marks (``QueueMaintenance``):
    /// ids of ended requests leave the head of each queue visited, order kept; empty queues
    /// and pairs not polled within ``pullConsumerWindow`` are forgotten.
    mutating func trimQueues(now: Double) -> (trimmed: Int, forgotten: Int) {
        var trimmed = 0
        var forgotten = 0
        var budget = QueueMaintenance.idsPerStep
        for _ in 0..<min(QueueMaintenance.queuesPerStep, queueWalk.count) {
            guard let name = queueWalk.popFirst() else { break }
            guard var queue = pullQueues.removeValue(forKey: name) else {
                walking.remove(name)
                forgotten += 1
                continue
            }
            let looked = min(queue.count, QueueMaintenance.idsPerQueue, budget)
            budget -= looked
            let live = queue.prefix(looked).filter { id in
                guard let entry = entries[id], entry.expiresAt > now else { return false }
                return !entry.record.state.isFinal
            }
            if live.count < looked {
                queue.removeFirst(looked)
                queue.prepend(contentsOf: live)
                trimmed += looked - live.count
                pullQueuedCount -= looked - live.count
            }
            if queue.isEmpty {
                walking.remove(name)
                forgotten += 1
            } else {
                pullQueues[name] = queue
                queueWalk.append(name)
            }
        }
        for _ in 0..<min(QueueMaintenance.queuesPerStep, consumerWalk.count) {
            guard let name = consumerWalk.popFirst() else { break }
            if let seen = pullConsumerSeen[name], now - seen < pullConsumerWindow {
                consumerWalk.append(name)
            } else {
                pullConsumerSeen.removeValue(forKey: name)
            }
        }
        return (trimmed, forgotten)
    }
}
