import SyftProxyCore
import SyftProxySyftBox

/// How the operator API writes what the store returns.
enum AdminJSON {
    static func item(_ item: AdminRecord) -> JSONValue {
        var object = item.record.statusJSON.objectValue ?? [:]
        object["failure_class"] = item.failure.map { .string($0.rawValue) } ?? .null
        object["deadline"] = .string(Timestamp.iso8601(item.record.deadline))
        return .object(object)
    }

    static func detail(_ item: AdminRecord) -> JSONValue {
        var object = self.item(item).objectValue ?? [:]
        object["params"] = .object(item.record.params)
        object["headers"] = JSONValue.stringMap(item.record.headers)
        object["endpoint"] = item.record.endpoint.map(JSONValue.string) ?? .null
        object["timeline"] = .array(item.timeline.map { event in
            .object(["at": .string(Timestamp.iso8601(event.at)), "event": .string(event.kind.rawValue), "detail": .string(event.detail)])
        })
        return .object(object)
    }

    static func page(_ page: AdminPage, key: String) -> JSONValue {
        .object([key: .array(page.items.map(item)), "next_cursor": page.nextCursor.map { .string($0.token) } ?? .null])
    }

    static func queue(_ queue: QueueSummary, now: Double) -> JSONValue {
        .object([
            "mode": .string(queue.mode.rawValue),
            "app_name": queue.appName.map(JSONValue.string) ?? .null,
            "destination": queue.destination.map(JSONValue.string) ?? .null,
            "shard": queue.shard.map(JSONValue.int) ?? .null,
            "depth": .int(queue.depth),
            "oldest_age_seconds": queue.oldestCreatedAt.map { .double(max(0, ((now - $0) * 1000).rounded() / 1000)) } ?? .null,
        ])
    }

    static func endpoint(_ endpoint: EndpointSummary) -> JSONValue {
        let mode: String
        switch endpoint.pushURL {
        case let url? where SyftBoxEndpoint.isAppURL(url): mode = "syftbox"
        case .some: mode = "push"
        case nil: mode = "pull"
        }
        return .object([
            "app_name": .string(endpoint.appName),
            "destination": .string(endpoint.destination),
            "mode": .string(mode),
            "push_url": endpoint.pushURL.map(JSONValue.string) ?? .null,
            "pull_consumer_last_seen": endpoint.pullConsumerSeen.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "health": endpoint.health?.json ?? .null,
        ])
    }

    static func replica(_ heartbeat: ReplicaHeartbeat, now: Double) -> JSONValue {
        var object = heartbeat.json.objectValue ?? [:]
        object["started_at"] = .string(Timestamp.iso8601(heartbeat.startedAt))
        object["last_seen"] = .string(Timestamp.iso8601(heartbeat.lastSeen))
        object["seconds_since_seen"] = .double(max(0, ((now - heartbeat.lastSeen) * 1000).rounded() / 1000))
        return .object(object)
    }
}
