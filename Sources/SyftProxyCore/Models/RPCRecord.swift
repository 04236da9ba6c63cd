/// Everything the proxy knows about one request. Stores persist it; the API renders it as
/// RPCStatus (``RPCStatusDocument``, via ``statusJSON``) for callers and as an inbox item (``inboxJSON``) for apps.
public struct RPCRecord: Sendable, Equatable {
    public var id: String
    public var appName: String
    public var funcName: String
    public var destination: String
    public var sender: String?
    public var state: RPCState
    public var params: JSONObject
    public var headers: [String: String]
    public var result: JSONValue?
    public var error: String?
    /// Seconds since the Unix epoch; shared wall-clock time is what replicas agree on.
    public var createdAt: Double
    public var updatedAt: Double
    public var completedAt: Double?
    /// After this instant an unanswered request fails as timed out.
    public var deadline: Double
    /// Deliveries so far (pull leases and push attempts).
    public var attempts: Int
    /// The syft:// endpoint a broadcast addressed, kept for the app's benefit.
    public var endpoint: String?
    /// W3C trace context of the call that created the request.
    public var traceparent: String?
    /// The fencing token of the delivery out now; nil unless `processing`. Renewing, releasing
    /// or answering as a lease holder names it, so a holder whose lease expired and was
    /// handed to another consumer can no longer act on the request. Never shown to callers.
    public var leaseToken: String?
    /// The SyftBox identity this deployment wrote the request's file as, set by the SyftBox
    /// transport (``RPCStore/markSyftBoxDelivery(id:sender:leaseToken:)``) just before it writes
    /// `<destination>/app_data/<app>/rpc/<func>/<sender>/<id>.request`; nil for a request never
    /// delivered through SyftBox. Only files of a request marked so, in that one folder, are ever
    /// adopted, answered from or deleted by the proxy. Never shown to callers.
    public var syftBoxSender: String?

    public init(
        id: String, appName: String, funcName: String, destination: String, sender: String?,
        state: RPCState = .pending, params: JSONObject, headers: [String: String], result: JSONValue? = nil,
        error: String? = nil, createdAt: Double, updatedAt: Double? = nil, completedAt: Double? = nil,
        deadline: Double, attempts: Int = 0, endpoint: String? = nil, traceparent: String? = nil,
        leaseToken: String? = nil, syftBoxSender: String? = nil
    ) {
        self.id = id
        self.appName = appName
        self.funcName = funcName
        self.destination = destination
        self.sender = sender
        self.state = state
        self.params = params
        self.headers = headers
        self.result = result
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt ?? createdAt
        self.completedAt = completedAt
        self.deadline = deadline
        self.attempts = attempts
        self.endpoint = endpoint
        self.traceparent = traceparent
        self.leaseToken = leaseToken
        self.syftBoxSender = syftBoxSender
    }

    /// The RPCStatus document of SPEC.md (``RPCStatusDocument``).
    public var statusJSON: JSONValue { RPCStatusDocument(record: self).json }

    /// What an app receives for each delivery, by pull (inbox) or push (POST body).
    public var inboxJSON: JSONValue {
        var object: JSONObject = [
            "id": .string(id),
            "app_name": .string(appName),
            "func_name": .string(funcName),
            "params": .object(params),
            "headers": JSONValue.stringMap(headers),
            "sender": sender.map(JSONValue.string) ?? .null,
            "deadline": .string(Timestamp.iso8601(deadline)),
            "attempts": .int(attempts),
        ]
        if let endpoint { object["endpoint"] = .string(endpoint) }
        // What a consumer names to hand the request back (POST /rpc/release/{id}).
        if let leaseToken { object["lease"] = .string(leaseToken) }
        return .object(object)
    }
}

extension JSONValue {
    /// Headers and other string maps, with keys sorted so output is stable.
    public static func stringMap(_ map: [String: String]) -> JSONValue {
        .object(JSONObject(map.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: .string($0.value)) }))
    }
}
