/// Why a failed request failed, as the operator console groups dead letters.
public enum FailureClass: String, Sendable, Equatable, CaseIterable {
    /// The app answered with an error.
    case appError = "app_error"
    /// Its deadline passed without an answer.
    case timedOut = "timed_out"
    /// PROXY_MAX_ATTEMPTS deliveries, each lease expired.
    case attemptsExhausted = "attempts_exhausted"
    /// The proxy could not deliver it at all (push URL denied by the outbound policy, no SyftBox
    /// folder on the replica that took it).
    case undeliverable
    /// POST /admin/requests/{id}/cancel.
    case cancelled
    /// POST /admin/queues/purge.
    case purged
}

/// One step in a request's life, kept with its record (the last ``AdminLimits/timelineEvents``).
public struct TimelineEvent: Sendable, Equatable {
    public enum Kind: String, Sendable, CaseIterable {
        case created, leased, leaseExpired = "lease_expired", released, deferred, syftBox = "syftbox"
        /// The consumer holding the lease went away (a WebSocket closed): back at once, the attempt counted.
        case dropped
        case completed, failed, retried
    }

    /// Unix seconds by the store's clock.
    public var at: Double
    public var kind: Kind
    /// Who took a lease, an attempt number, a failure's class and message.
    public var detail: String

    public init(at: Double, kind: Kind, detail: String = "") {
        self.at = at
        self.kind = kind
        self.detail = detail
    }
}

/// A record as the operator console sees it.
public struct AdminRecord: Sendable, Equatable {
    public var record: RPCRecord
    /// Set while the request is failed.
    public var failure: FailureClass?
    /// Oldest first; empty in list pages, filled by ``RPCStore/adminRequest(id:)``.
    public var timeline: [TimelineEvent]

    public init(record: RPCRecord, failure: FailureClass?, timeline: [TimelineEvent] = []) {
        self.record = record
        self.failure = failure
        self.timeline = timeline
    }
}

/// Which index a page walks: every request by creation, or dead letters by failure time.
public enum AdminIndex: Sendable, Equatable {
    case requests
    case failed
}

public struct AdminQuery: Sendable, Equatable {
    public var index: AdminIndex
    public var state: RPCState?
    public var appName: String?
    public var destination: String?
    public var sender: String?
    public var limit: Int
    /// ``AdminPage/nextCursor`` of the page before; nil for the newest.
    public var cursor: AdminCursor?

    public init(index: AdminIndex = .requests, state: RPCState? = nil, appName: String? = nil, destination: String? = nil,
                sender: String? = nil, limit: Int = AdminLimits.defaultPageSize, cursor: AdminCursor? = nil) {
        self.index = index
        self.state = state
        self.appName = appName
        self.destination = destination
        self.sender = sender
        self.limit = limit
        self.cursor = cursor
    }

    public func matches(_ record: RPCRecord) -> Bool {
        (state == nil || record.state == state) && (appName == nil || record.appName == appName)
            && (destination == nil || record.destination == destination) && (sender == nil || record.sender == sender)
    }
}

/// Newest first. A page with a filter may hold fewer than `limit` items (even none) and still
/// have a next cursor: each page looks at a bounded number of index entries.
public struct AdminPage: Sendable, Equatable {
    public var items: [AdminRecord]
    public var nextCursor: AdminCursor?

    public init(items: [AdminRecord], nextCursor: AdminCursor?) {
        self.items = items
        self.nextCursor = nextCursor
    }
}

/// What an operator's action on one request came to.
public enum AdminActionOutcome: Sendable, Equatable {
    case done(RPCRecord)
    /// The request is not in a state the action applies to (cancel: already final; retry,
    /// delete: not failed); nothing changed.
    case notApplicable(RPCRecord)
    case notFound
}

/// Work waiting for delivery: a pull queue of one (app, destination), or one shard's push work.
public struct QueueSummary: Sendable, Equatable {
    public enum Mode: String, Sendable { case pull, push }
    public var mode: Mode
    public var appName: String?
    public var destination: String?
    /// The store's shard, for push work on a sharded store.
    public var shard: Int?
    public var depth: Int
    /// Creation time of the request at the head; nil when it could not be read.
    public var oldestCreatedAt: Double?

    public init(mode: Mode, appName: String?, destination: String?, shard: Int?, depth: Int, oldestCreatedAt: Double?) {
        self.mode = mode
        self.appName = appName
        self.destination = destination
        self.shard = shard
        self.depth = depth
        self.oldestCreatedAt = oldestCreatedAt
    }
}

/// What a replica publishes about itself every ``AdminLimits/heartbeatInterval``.
public struct ReplicaHeartbeat: Sendable, Equatable {
    public var id: String
    public var version: String
    public var address: String
    public var startedAt: Double
    public var inFlight: Int
    public var roundTripsPerSecond: Double
    public var p50Seconds: Double?
    public var p99Seconds: Double?
    /// Set by the store, by its clock, when it stored the heartbeat.
    public var lastSeen: Double

    public init(id: String, version: String, address: String, startedAt: Double, inFlight: Int, roundTripsPerSecond: Double,
                p50Seconds: Double?, p99Seconds: Double?, lastSeen: Double = 0) {
        self.id = id
        self.version = version
        self.address = address
        self.startedAt = startedAt
        self.inFlight = inFlight
        self.roundTripsPerSecond = roundTripsPerSecond
        self.p50Seconds = p50Seconds
        self.p99Seconds = p99Seconds
        self.lastSeen = lastSeen
    }

    public var json: JSONValue {
        .object([
            "id": .string(id), "version": .string(version), "address": .string(address), "started_at": .double(startedAt),
            "in_flight": .int(inFlight), "round_trips_per_second": .double(roundTripsPerSecond),
            "p50_seconds": p50Seconds.map(JSONValue.double) ?? .null, "p99_seconds": p99Seconds.map(JSONValue.double) ?? .null,
            "last_seen": .double(lastSeen),
        ])
    }

    public init?(json: JSONValue, lastSeen: Double) {
        guard let id = json["id"]?.stringValue else { return nil }
        self.init(
            id: id, version: json["version"]?.stringValue ?? "", address: json["address"]?.stringValue ?? "",
            startedAt: json["started_at"]?.doubleValue ?? 0, inFlight: json["in_flight"]?.intValue ?? 0,
            roundTripsPerSecond: json["round_trips_per_second"]?.doubleValue ?? 0,
            p50Seconds: json["p50_seconds"]?.doubleValue, p99Seconds: json["p99_seconds"]?.doubleValue, lastSeen: lastSeen)
    }
}

/// The operator console's bounds, one source for the API, the stores and the docs.
public enum AdminLimits {
    public static let timelineEvents = 50
    public static let defaultPageSize = 50
    public static let maximumPageSize = 200
    /// Ids one POST /admin/failed/retry takes at most.
    public static let maximumRetryBatch = 100
    /// Queued requests one purge fails at most (the call says how many are left).
    public static let maximumPurge = 1000
    /// Queues listed per shard (memory: in all) at most.
    public static let maximumQueuesListed = 500
    public static let heartbeatInterval = 2.0
    /// A replica not heard from for this long is gone from the list.
    public static let heartbeatTTL = 10.0
    /// Expired index entries one sweep tick removes at most (per shard on Redis).
    public static let indexTrimPerTick = 100
    /// Default PROXY_FAILED_TTL: a week.
    public static let defaultFailedTTL = 604_800.0
}

/// How a timeline names who took a lease; the Redis scripts receive the same words.
public enum TimelineHolders {
    public static let pull = "pull consumer"
    public static func webSocket(_ replicaID: String) -> String {
        replicaID.isEmpty ? "WebSocket consumer" : "WebSocket consumer on replica \(replicaID)"
    }
    public static func push(_ replicaID: String) -> String {
        replicaID.isEmpty ? "push forwarder" : "push forwarder on replica \(replicaID)"
    }
}
