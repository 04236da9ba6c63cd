import SyftProxyCore

/// The operator console's reads and actions on the embedded store, under the store's lock.
extension MemoryState {
    /// Removes an expired record with its index entries.
    mutating func forget(_ id: String, _ entry: Entry) {
        entries.removeValue(forKey: id)
        requestIndex.remove(AdminCursor.entry(time: entry.record.createdAt, id: id))
        if let failedEntry = entry.failedEntry { failedIndex.remove(failedEntry) }
    }

    func adminRecord(_ entry: Entry, timeline: Bool) -> AdminRecord {
        AdminRecord(record: entry.record, failure: entry.record.state == .failed ? entry.failure : nil,
                    timeline: timeline ? entry.timeline : [])
    }

    /// Looks at as many index entries as a page of the default 16-shard Redis layout may.
    static let scannedPerPageFactor = 16

    func page(_ query: AdminQuery, now: Double) -> AdminPage {
        let index = query.index == .failed ? failedIndex : requestIndex
        let budget = query.limit * Self.scannedPerPageFactor
        let scanned = index.below(query.cursor?.entry, count: budget)
        var items: [AdminRecord] = []
        for entryText in scanned {
            let id = String(entryText.dropFirst(AdminCursor.timeWidth))
            guard let entry = entries[id], entry.expiresAt > now, query.matches(entry.record) else { continue }
            if items.count == query.limit {
                // One more match exists: the page ends at the last one taken.
                return AdminPage(items: items, nextCursor: cursor(of: items.last, in: query.index, entries: entries))
            }
            items.append(adminRecord(entry, timeline: false))
        }
        return AdminPage(items: items, nextCursor: scanned.count == budget ? scanned.last.map(AdminCursor.init(entry:)) : nil)
    }

    private func cursor(of item: AdminRecord?, in index: AdminIndex, entries: [String: Entry]) -> AdminCursor? {
        guard let item, let entry = entries[item.record.id] else { return nil }
        switch index {
        case .requests: return AdminCursor(entry: AdminCursor.entry(time: entry.record.createdAt, id: item.record.id))
        case .failed: return entry.failedEntry.map(AdminCursor.init(entry:))
        }
    }

    mutating func cancel(id: String, as failure: FailureClass, message: String, now: Double, wakes: inout Wakes) -> AdminActionOutcome {
        failIfOverdue(id: id, now: now, wakes: &wakes)
        guard let entry = entries[id], entry.expiresAt > now else { return .notFound }
        guard !entry.record.state.isFinal else { return .notApplicable(entry.record) }
        fail(id: id, message: message, as: failure, now: now, wakes: &wakes)
        return entries[id].map { .done($0.record) } ?? .notFound
    }

    mutating func retry(id: String, now: Double, wakes: inout Wakes) -> AdminActionOutcome {
        guard var entry = entries[id], entry.expiresAt > now else { return .notFound }
        guard entry.record.state == .failed else { return .notApplicable(entry.record) }
        if let failedEntry = entry.failedEntry { failedIndex.remove(failedEntry) }
        entry.failedEntry = nil
        entry.failure = nil
        entry.record.state = .pending
        entry.record.error = nil
        entry.record.result = nil
        entry.record.completedAt = nil
        entry.record.attempts = 0
        entry.record.updatedAt = now
        entry.record.deadline = now + entry.timeout
        entry.expiresAt = max(entry.expiresAt, entry.record.deadline + settings.requestTTL)
        entry.log(.retried, at: now)
        entries[id] = entry
        deadlines.push(id, at: entry.record.deadline)
        expiries.push(id, at: entry.expiresAt)
        enqueue(id, name: QueueName(appName: entry.record.appName, destination: entry.record.destination), atFront: false, wakes: &wakes)
        return .done(entry.record)
    }

    mutating func deleteFailed(id: String, now: Double) -> AdminActionOutcome {
        guard let entry = entries[id], entry.expiresAt > now else { return .notFound }
        guard entry.record.state == .failed else { return .notApplicable(entry.record) }
        forget(id, entry)
        return .done(entry.record)
    }

    func queues(now: Double) -> [QueueSummary] {
        func oldest<S: Sequence>(_ ids: S) -> Double? where S.Element == String {
            // The head may be an ended request the queue trim has not reached yet.
            for id in ids.prefix(QueueMaintenance.idsPerQueue) {
                if let entry = entries[id], !entry.record.state.isFinal { return entry.record.createdAt }
            }
            return nil
        }
        var out: [QueueSummary] = []
        for (name, queue) in pullQueues.prefix(AdminLimits.maximumQueuesListed) where !queue.isEmpty {
            out.append(QueueSummary(mode: .pull, appName: name.appName, destination: name.destination, shard: nil,
                                    depth: queue.count, oldestCreatedAt: oldest(queue)))
        }
        if !pushQueue.isEmpty {
            out.append(QueueSummary(mode: .push, appName: nil, destination: nil, shard: nil, depth: pushQueue.count,
                                    oldestCreatedAt: oldest(pushQueue)))
        }
        return out
    }

    mutating func purge(_ name: QueueName, message: String, now: Double, wakes: inout Wakes) -> (purged: Int, remaining: Int) {
        var purged = 0
        if var queue = pullQueues.removeValue(forKey: name) {
            while purged < AdminLimits.maximumPurge, let id = queue.popFirst() {
                pullQueuedCount -= 1
                guard let entry = entries[id], !entry.record.state.isFinal else { continue }
                fail(id: id, message: message, as: .purged, now: now, wakes: &wakes)
                purged += 1
            }
            if !queue.isEmpty { pullQueues[name] = queue }
        }
        // Push work stays on the push queue; failed, it is skipped there when leased.
        for id in pushQueue.prefix(AdminLimits.maximumPurge) where purged < AdminLimits.maximumPurge {
            guard let entry = entries[id], !entry.record.state.isFinal, entry.record.appName == name.appName,
                entry.record.destination == name.destination
            else { continue }
            fail(id: id, message: message, as: .purged, now: now, wakes: &wakes)
            purged += 1
        }
        return (purged, pullQueues[name]?.count ?? 0)
    }

    func endpointSummaries(now: Double) -> [EndpointSummary] {
        var names = Set(endpoints.keys)
        for (name, seen) in pullConsumerSeen where now - seen < pullConsumerWindow { names.insert(name) }
        return names.prefix(AdminLimits.maximumQueuesListed).map { name in
            let seen = pullConsumerSeen[name].flatMap { now - $0 < pullConsumerWindow ? $0 : nil }
            return EndpointSummary(appName: name.appName, destination: name.destination, pushURL: endpoints[name],
                                   pullConsumerSeen: seen, health: endpointHealth[name])
        }
    }

    mutating func record(_ reports: [EndpointHealthReport]) {
        for report in reports {
            let name = QueueName(appName: report.appName, destination: report.destination)
            // Only endpoints still registered keep a health record.
            guard endpoints[name] != nil else { continue }
            endpointHealth[name] = (endpointHealth[name] ?? EndpointHealth()).merging(report)
        }
    }

    mutating func liveHeartbeats(now: Double) -> [ReplicaHeartbeat] {
        heartbeats = heartbeats.filter { now - $0.value.lastSeen < AdminLimits.heartbeatTTL }
        return heartbeats.values.sorted { $0.id < $1.id }
    }
}
