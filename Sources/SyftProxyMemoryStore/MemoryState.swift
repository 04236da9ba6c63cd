import DequeModule
import SyftProxyCore

/// The embedded store's data and its transitions. Every method runs under the store's lock.
struct MemoryState {
    struct Entry {
        var record: RPCRecord
        var expiresAt: Double
        var leaseUntil: Double?
    }

    let settings: StoreSettings
    var entries: [String: Entry] = [:]
    var pullQueues: [QueueName: Deque<String>] = [:]
    var pushQueue: Deque<String> = []
    var endpoints: [QueueName: String] = [:]
    /// When each pair's inbox was last leased from (one entry per pair ever polled).
    var pullConsumerSeen: [QueueName: Double] = [:]
    var schemas: [String: (schema: JSONValue, owner: String?)] = [:]
    var idempotency: [String: (id: String, expiresAt: Double)] = [:]
    var deadlines = MinHeap<String>()
    var leases = MinHeap<String>()
    var expiries = MinHeap<String>()
    var idempotencyExpiries = MinHeap<String>()
    var leasedCount = 0
    var rateWindows: [String: (window: Double, used: Int)] = [:]

    init(settings: StoreSettings) { self.settings = settings }

    func liveRecord(id: String, now: Double) -> RPCRecord? {
        guard let entry = entries[id], entry.expiresAt > now else { return nil }
        return entry.record
    }

    mutating func create(_ requests: [NewRequest], idempotencyKey: String?, now: Double) -> ([CreateOutcome], Wakes) {
        var wakes = Wakes()
        if let idempotencyKey, let seen = idempotency[idempotencyKey], seen.expiresAt > now,
            let first = liveRecord(id: seen.id, now: now)
        {
            return ([.duplicate(first)], wakes)
        }
        var outcomes: [CreateOutcome] = []
        outcomes.reserveCapacity(requests.count)
        for request in requests {
            let record = RPCRecord(
                id: request.id, appName: request.appName, funcName: request.funcName,
                destination: request.destination, sender: request.sender, params: request.params,
                headers: request.headers, createdAt: now, deadline: now + request.timeout,
                endpoint: request.endpoint, traceparent: request.traceparent)
            let expiresAt = now + settings.requestTTL
            entries[request.id] = Entry(record: record, expiresAt: expiresAt)
            deadlines.push(request.id, at: record.deadline)
            expiries.push(request.id, at: expiresAt)
            enqueue(request.id, name: QueueName(appName: request.appName, destination: request.destination), atFront: false, wakes: &wakes)
            outcomes.append(.created(record))
        }
        if let idempotencyKey, let first = requests.first {
            idempotency[idempotencyKey] = (first.id, now + settings.requestTTL)
            idempotencyExpiries.push(idempotencyKey, at: now + settings.requestTTL)
        }
        return (outcomes, wakes)
    }

    private mutating func enqueue(_ id: String, name: QueueName, atFront: Bool, wakes: inout Wakes) {
        if endpoints[name] != nil {
            if atFront { pushQueue.prepend(id) } else { pushQueue.append(id) }
            wakes.push = true
        } else {
            if atFront { pullQueues[name, default: []].prepend(id) } else { pullQueues[name, default: []].append(id) }
            wakes.inboxes.append(name)
        }
    }

    /// Takes ids off a queue until `max` pending requests are leased; ids whose request was
    /// answered, timed out or expired while queued are dropped on the way.
    private mutating func lease(from queue: inout Deque<String>, max: Int, now: Double) -> [RPCRecord] {
        var leased: [RPCRecord] = []
        while leased.count < max, let id = queue.popFirst() {
            guard var entry = entries[id], entry.expiresAt > now, entry.record.state == .pending else { continue }
            if entry.record.deadline <= now { continue }
            entry.record.state = .processing
            entry.record.attempts += 1
            entry.record.updatedAt = now
            let until = now + settings.leaseSeconds
            entry.leaseUntil = until
            entries[id] = entry
            leases.push(id, at: until)
            leasedCount += 1
            leased.append(entry.record)
        }
        return leased
    }

    mutating func leaseInbox(_ name: QueueName, max: Int, now: Double) -> [RPCRecord] {
        guard var queue = pullQueues.removeValue(forKey: name) else { return [] }
        let leased = lease(from: &queue, max: max, now: now)
        if !queue.isEmpty { pullQueues[name] = queue }
        return leased
    }

    mutating func leasePush(max: Int, now: Double) -> [PushDelivery] {
        var queue = pushQueue
        pushQueue = []
        var deliveries: [PushDelivery] = []
        // A pair whose endpoint was removed while queued goes back to pull delivery.
        while deliveries.count < max, !queue.isEmpty {
            let batch = lease(from: &queue, max: 1, now: now)
            guard let record = batch.first else { continue }
            let name = QueueName(appName: record.appName, destination: record.destination)
            if let url = endpoints[name] {
                deliveries.append(PushDelivery(record: record, url: url))
            } else {
                undoLease(id: record.id)
                var ignored = Wakes()
                enqueue(record.id, name: name, atFront: true, wakes: &ignored)
            }
        }
        pushQueue = queue + pushQueue
        return deliveries
    }

    private mutating func undoLease(id: String) {
        guard var entry = entries[id] else { return }
        entry.record.state = .pending
        entry.record.attempts -= 1
        entry.leaseUntil = nil
        entries[id] = entry
        leasedCount -= 1
    }

    mutating func renewLease(id: String, now: Double) -> Bool {
        guard var entry = entries[id], entry.record.state == .processing else { return false }
        let until = now + settings.leaseSeconds
        entry.leaseUntil = until
        entries[id] = entry
        leases.push(id, at: until)
        return true
    }

    mutating func releaseLease(id: String, now: Double) -> Wakes {
        var wakes = Wakes()
        guard var entry = entries[id], entry.record.state == .processing else { return wakes }
        entry.record.state = .pending
        entry.record.attempts = max(0, entry.record.attempts - 1)
        entry.record.updatedAt = now
        entry.leaseUntil = nil
        entries[id] = entry
        leasedCount -= 1
        enqueue(id, name: QueueName(appName: entry.record.appName, destination: entry.record.destination), atFront: true, wakes: &wakes)
        return wakes
    }

    mutating func deferDelivery(id: String, by seconds: Double, now: Double) -> Bool {
        guard var entry = entries[id], entry.record.state == .processing, entry.leaseUntil != nil else { return false }
        let until = now + seconds
        entry.record.attempts = max(0, entry.record.attempts - 1)
        entry.record.updatedAt = now
        entry.leaseUntil = until
        entries[id] = entry
        leases.push(id, at: until)
        return true
    }

    mutating func answer(id: String, with answer: RPCAnswer, now: Double) -> (AnswerOutcome, Wakes) {
        var wakes = Wakes()
        failIfOverdue(id: id, now: now, wakes: &wakes)
        guard var entry = entries[id], entry.expiresAt > now else { return (.notFound, wakes) }
        guard !entry.record.state.isFinal else { return (.alreadyFinal(entry.record), wakes) }
        if entry.leaseUntil != nil { leasedCount -= 1 }
        switch answer {
        case .result(let value):
            entry.record.state = .completed
            entry.record.result = value
        case .error(let message):
            entry.record.state = .failed
            entry.record.error = message
        }
        entry.record.updatedAt = now
        entry.record.completedAt = now
        entry.leaseUntil = nil
        entries[id] = entry
        wakes.finals.append(id)
        return (.accepted(entry.record), wakes)
    }

    mutating func fail(id: String, message: String, now: Double, wakes: inout Wakes) {
        guard var entry = entries[id], !entry.record.state.isFinal else { return }
        if entry.leaseUntil != nil { leasedCount -= 1 }
        entry.record.state = .failed
        entry.record.error = message
        entry.record.updatedAt = now
        entry.record.completedAt = now
        entry.leaseUntil = nil
        entries[id] = entry
        wakes.finals.append(id)
    }

    mutating func failIfOverdue(id: String, now: Double, wakes: inout Wakes) {
        guard let entry = entries[id], !entry.record.state.isFinal, entry.record.deadline <= now else { return }
        fail(id: id, message: FailureMessages.timedOut(after: entry.record.deadline - entry.record.createdAt), now: now, wakes: &wakes)
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
                fail(id: due.element, message: FailureMessages.deliveriesExhausted(attempts: entry.record.attempts, leaseSeconds: settings.leaseSeconds), now: now, wakes: &wakes)
                report.exhausted += 1
            } else {
                var redelivered = entry
                redelivered.record.state = .pending
                redelivered.record.updatedAt = now
                redelivered.leaseUntil = nil
                entries[due.element] = redelivered
                leasedCount -= 1
                enqueue(due.element, name: QueueName(appName: entry.record.appName, destination: entry.record.destination), atFront: true, wakes: &wakes)
                report.redelivered += 1
            }
        }
        while let due = expiries.popDue(at: now) {
            if let entry = entries[due.element], entry.expiresAt <= now {
                if entry.leaseUntil != nil { leasedCount -= 1 }
                entries.removeValue(forKey: due.element)
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
            pushQueue.append(contentsOf: queued)
            wakes.push = true
        }
        return wakes
    }

    mutating func removePushEndpoint(_ name: QueueName) -> (Bool, Wakes) {
        var wakes = Wakes()
        guard endpoints.removeValue(forKey: name) != nil else { return (false, wakes) }
        // Queued push work of this pair moves back to its pull queue, order kept.
        var kept: Deque<String> = []
        for id in pushQueue {
            if let record = entries[id]?.record, record.appName == name.appName, record.destination == name.destination {
                pullQueues[name, default: []].append(id)
            } else {
                kept.append(id)
            }
        }
        pushQueue = kept
        wakes.inboxes.append(name)
        return (true, wakes)
    }
}
