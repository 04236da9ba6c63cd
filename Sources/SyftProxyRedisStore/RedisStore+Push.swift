import SyftProxyCore
import SyftProxyRedis

extension RedisStore {
    /// Visits the shards marked as having push work (PushShards), round-robin from where the
    /// last lease stopped, at most ``shardsPerPushLease`` per call and each once: one bounded
    /// script each. A
    /// shard is unmarked before its script runs and marked again when its list still holds
    /// ids, so nothing queued meanwhile is lost; an empty poll costs no Redis call at all.
    public func leasePush(max: Int) async throws -> [PushDelivery] {
        let hints = wakeups.pushShards
        hints.markAllIfDue(at: Timestamp.now())
        var out: [PushDelivery] = []
        var visited = Set<Int>()
        while out.count < max, visited.count < Self.shardsPerPushLease, let index = hints.takeNext() {
            // Back at a shard this call already visited (marked again as its list is not
            // empty): each shard gets at most one bounded script per call.
            guard visited.insert(index).inserted else {
                hints.mark(index)
                break
            }
            let wanted = max - out.count
            let reply: RESPValue
            do {
                reply = try await evaluate(
                    scripts.leasePush, keys.shards[index], [],
                    [String(wanted), String(settings.leaseSeconds), String(wanted + QueueMaintenance.idsPerPushLease),
                     TimelineHolders.push(settings.replicaID)])
            } catch {
                hints.mark(index)
                throw error
            }
            guard let parts = reply.array, parts.count == 2 else { throw StoreError.corrupt("push lease answered \(reply)") }
            if (parts[0].int ?? 0) > 0 { hints.mark(index) }
            for pair in parts[1].array ?? [] {
                guard let fields = pair.array, fields.count == 2, let url = fields[0].string,
                    let record = try RecordCoding.record(from: fields[1])
                else { continue }
                out.append(PushDelivery(record: record, url: url))
            }
        }
        return out
    }

    /// Returns at once while a shard is marked; otherwise on the next push wake-up of any shard
    /// or at the recheck interval, after which the next lease looks at every shard once.
    public func waitForPushWork(until deadline: Double) async throws {
        let ticket = queueWaiters.register(StoreWakeups.pushWaiters)
        defer { queueWaiters.unregister(ticket) }
        // Checked after registering: a mark set before is seen here, one set after signals.
        if wakeups.pushShards.hasWork(at: Timestamp.now()) { return }
        await queueWaiters.wait(ticket, until: min(deadline, Timestamp.now() + wakeups.pushShards.recheckInterval))
    }
}
