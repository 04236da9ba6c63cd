import SyftProxyCore
import SyftProxyRedis

/// The operator console on the sharded layout: pages merge the shards' indexes, actions are one
/// script on the request's shard.
extension RedisStore {
    /// Each shard looks at up to `limit` entries below the cursor (one bounded script per
    /// shard, concurrently). A shard that looked at `limit` entries may hold more, so the page
    /// ends where the least far-reaching such shard stopped: every entry from that boundary up
    /// was seen on every shard, which keeps the newest-first order exact across shards and
    /// lists every request once.
    public func adminRequests(_ query: AdminQuery) async throws -> AdminPage {
        let limit = max(1, query.limit)
        let args = [
            query.cursor?.entry ?? "", String(limit), query.state?.rawValue ?? "", query.appName ?? "",
            query.destination ?? "", query.sender ?? "",
        ]
        let perShard = try await withThrowingTaskGroup(of: (last: String, full: Bool, items: [(String, AdminRecord)]).self) { group in
            for shard in keys.shards {
                let index = query.index == .failed ? shard.failedIndex : shard.requestIndex
                group.addTask {
                    let reply = try await self.evaluate(self.scripts.adminPage, shard, [index], args)
                    guard let parts = reply.array, parts.count == 3 else { throw StoreError.corrupt("admin page answered \(reply)") }
                    var items: [(String, AdminRecord)] = []
                    for pair in parts[2].array ?? [] {
                        guard let fields = pair.array, fields.count == 2, let entry = fields[0].string,
                            let item = try RecordCoding.adminRecord(from: fields[1], timeline: false)
                        else { continue }
                        items.append((entry, item))
                    }
                    return (parts[0].string ?? "", (parts[1].int ?? 0) >= Int64(limit), items)
                }
            }
            var all: [(last: String, full: Bool, items: [(String, AdminRecord)])] = []
            for try await result in group { all.append(result) }
            return all
        }
        let boundary = perShard.filter(\.full).map(\.last).max()
        let candidates = perShard.flatMap(\.items)
            .filter { candidate in boundary.map { candidate.0 >= $0 } ?? true }
            .sorted { $0.0 > $1.0 }
        if candidates.count > limit {
            let page = candidates.prefix(limit)
            return AdminPage(items: page.map(\.1), nextCursor: page.last.map { AdminCursor(entry: $0.0) })
        }
        return AdminPage(items: candidates.map(\.1), nextCursor: boundary.map(AdminCursor.init(entry:)))
    }

    public func adminRequest(id: String) async throws -> AdminRecord? {
        guard let shard = try await shard(ofID: id) else { return nil }
        return try RecordCoding.adminRecord(from: try await evaluate(scripts.read, shard, [shard.request(id)], [id]), timeline: true)
    }

    public func cancel(id: String, as failure: FailureClass, message: String) async throws -> AdminActionOutcome {
        guard let shard = try await shard(ofID: id) else { return .notFound }
        let reply = try await evaluate(scripts.cancel, shard, [shard.request(id)], [id, failure.rawValue, message])
        return try Self.actionOutcome(reply, done: "ok", what: "cancel")
    }

    public func retry(id: String) async throws -> AdminActionOutcome {
        guard let shard = try await shard(ofID: id) else { return .notFound }
        let reply = try await evaluate(scripts.retry, shard, [shard.request(id)], [id])
        if let parts = reply.array, parts.count == 3, parts[2].int == 1 { wakeups.pushQueued(shard.index) }
        return try Self.actionOutcome(reply, done: "ok", what: "retry")
    }

    public func deleteFailed(id: String) async throws -> AdminActionOutcome {
        guard let shard = try await shard(ofID: id) else { return .notFound }
        let reply = try await evaluate(scripts.deleteFailed, shard, [shard.request(id)], [id])
        return try Self.actionOutcome(reply, done: "ok", what: "delete")
    }

    static func actionOutcome(_ reply: RESPValue, done: String, what: String) throws -> AdminActionOutcome {
        guard let parts = reply.array, let tag = parts.first?.string else { throw StoreError.corrupt("\(what) answered \(reply)") }
        if tag == "missing" { return .notFound }
        guard parts.count > 1, let record = try RecordCoding.record(from: parts[1]) else { return .notFound }
        return tag == done ? .done(record) : .notApplicable(record)
    }

    public func queues() async throws -> [QueueSummary] {
        let args = [String(AdminLimits.maximumQueuesListed), String(QueueMaintenance.idsPerQueue)]
        return try await withThrowingTaskGroup(of: [QueueSummary].self) { group in
            for shard in keys.shards {
                group.addTask {
                    let reply = try await self.evaluate(self.scripts.queues, shard, [], args)
                    return (reply.array ?? []).compactMap { row -> QueueSummary? in
                        guard let fields = row.array, fields.count == 5, let key = fields[0].string else { return nil }
                        let depth = Int(fields[1].int ?? 0)
                        let oldest = fields[4].string.flatMap(Double.init)
                        if key == "push" {
                            return QueueSummary(mode: .push, appName: nil, destination: nil, shard: shard.index, depth: depth, oldestCreatedAt: oldest)
                        }
                        let app = fields[2].string.flatMap { $0.isEmpty ? nil : $0 }
                        let destination = fields[3].string.flatMap { $0.isEmpty ? nil : $0 }
                        return QueueSummary(mode: .pull, appName: app, destination: destination, shard: shard.index, depth: depth, oldestCreatedAt: oldest)
                    }
                }
            }
            var all: [QueueSummary] = []
            for try await rows in group { all += rows }
            return all.sorted { ($0.oldestCreatedAt ?? .infinity) < ($1.oldestCreatedAt ?? .infinity) }
        }
    }

    public func purgeQueue(appName: String, destination: String, message: String) async throws -> (purged: Int, remaining: Int) {
        let name = QueueName(appName: appName, destination: destination)
        let shard = keys.shards[keys.shard(of: name)]
        let reply = try await evaluate(scripts.purge, shard, [shard.queue(name)], [String(AdminLimits.maximumPurge), message])
        guard let parts = reply.array, parts.count == 2 else { throw StoreError.corrupt("purge answered \(reply)") }
        return (Int(parts[0].int ?? 0), Int(parts[1].int ?? 0))
    }

    public func publishHeartbeat(_ heartbeat: ReplicaHeartbeat) async throws {
        _ = try await heartbeats([heartbeat.id, heartbeat.json.compactString])
    }

    public func replicas() async throws -> [ReplicaHeartbeat] {
        try await heartbeats([])
    }

    private func heartbeats(_ write: [String]) async throws -> [ReplicaHeartbeat] {
        let reply = try await evaluate(
            scripts.heartbeat, keys: [keys.replicas, keys.replicasSeen], args: [JSONValue.format(AdminLimits.heartbeatTTL)] + write)
        return (reply.array ?? []).compactMap { row in
            guard let fields = row.array, fields.count == 3, let seen = fields[1].string.flatMap(Double.init),
                let text = fields[2].string, let json = try? JSONParser.parse(text)
            else { return nil }
            return ReplicaHeartbeat(json: json, lastSeen: seen)
        }
    }
}

extension RedisStore {
    public func endpoints() async throws -> [EndpointSummary] {
        let args = [String(AdminLimits.maximumQueuesListed), Self.consumerWindowText]
        return try await withThrowingTaskGroup(of: [EndpointSummary].self) { group in
            for shard in keys.shards {
                group.addTask {
                    let reply = try await self.evaluate(self.scripts.endpoints, shard, [shard.endpointSet, shard.consumerSet, shard.healthMap], args)
                    return (reply.array ?? []).compactMap { row -> EndpointSummary? in
                        guard let fields = row.array, fields.count == 4, let member = fields[0].string,
                            let pair = ShardKeys.pair(fromMember: member)
                        else { return nil }
                        let url = fields[1].string.flatMap { $0.isEmpty ? nil : $0 }
                        let seen = fields[2].string.flatMap(Double.init)
                        let health = fields[3].string.flatMap { try? JSONParser.parse($0) }.map(Self.health(from:))
                        return EndpointSummary(appName: pair.appName, destination: pair.destination, pushURL: url, pullConsumerSeen: seen, health: health)
                    }
                }
            }
            var all: [EndpointSummary] = []
            for try await rows in group { all += rows }
            return all.sorted { ($0.appName, $0.destination) < ($1.appName, $1.destination) }
        }
    }

    static func health(from json: JSONValue) -> EndpointHealth {
        EndpointHealth(
            lastSuccess: json["last_success"]?.doubleValue, lastError: json["last_error"]?.doubleValue,
            lastErrorMessage: json["last_error_message"]?.stringValue, consecutiveFailures: json["consecutive_failures"]?.intValue ?? 0)
    }

    /// One script per shard the reports fall in.
    public func recordEndpointHealth(_ reports: [EndpointHealthReport]) async throws {
        var byShard: [Int: [EndpointHealthReport]] = [:]
        for report in reports {
            byShard[keys.shard(of: QueueName(appName: report.appName, destination: report.destination)), default: []].append(report)
        }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, shardReports) in byShard {
                let shard = keys.shards[index]
                var args = [String(shardReports.count)]
                for report in shardReports {
                    args += [
                        ShardKeys.pairMember(QueueName(appName: report.appName, destination: report.destination)),
                        report.lastSuccess.map(JSONValue.format) ?? "", report.lastError.map(JSONValue.format) ?? "",
                        report.lastErrorMessage ?? "", String(report.failures), String(report.failuresSinceSuccess),
                    ]
                }
                group.addTask { _ = try await self.evaluate(self.scripts.endpointHealth, shard, [shard.endpointSet, shard.healthMap], args) }
            }
            try await group.waitForAll()
        }
    }
}
