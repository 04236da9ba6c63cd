/// The RPCStatus document of SPEC.md: what the server answers for a request (send, status,
/// reply) and what the client library reads back. Both sides encode and decode through this
/// type, so the member names and their forms are written once.
public struct RPCStatusDocument: Sendable, Equatable {
    public var id: String
    public var appName: String
    public var funcName: String
    public var destination: String
    public var sender: String?
    public var state: RPCState
    public var result: JSONValue?
    public var error: String?
    /// Seconds since the Unix epoch; ISO 8601 UTC on the wire.
    public var createdAt: Double
    public var updatedAt: Double
    public var completedAt: Double?
    public var attempts: Int

    public init(
        id: String, appName: String, funcName: String, destination: String, sender: String?, state: RPCState,
        result: JSONValue?, error: String?, createdAt: Double, updatedAt: Double, completedAt: Double?, attempts: Int
    ) {
        self.id = id
        self.appName = appName
        self.funcName = funcName
        self.destination = destination
        self.sender = sender
        self.state = state
        self.result = result
        self.error = error
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.completedAt = completedAt
        self.attempts = attempts
    }

    public init(record: RPCRecord) {
        self.init(
            id: record.id, appName: record.appName, funcName: record.funcName, destination: record.destination,
            sender: record.sender, state: record.state, result: record.result, error: record.error,
            createdAt: record.createdAt, updatedAt: record.updatedAt, completedAt: record.completedAt,
            attempts: record.attempts)
    }

    public var json: JSONValue {
        var object = JSONObject()
        object.members.reserveCapacity(12)
        object.members.append(.init(key: "id", value: .string(id)))
        object.members.append(.init(key: "app_name", value: .string(appName)))
        object.members.append(.init(key: "func_name", value: .string(funcName)))
        object.members.append(.init(key: "destination", value: .string(destination)))
        object.members.append(.init(key: "sender", value: sender.map(JSONValue.string) ?? .null))
        object.members.append(.init(key: "status", value: .string(state.rawValue)))
        object.members.append(.init(key: "result", value: result ?? .null))
        object.members.append(.init(key: "error", value: error.map(JSONValue.string) ?? .null))
        object.members.append(.init(key: "created_at", value: .string(Timestamp.iso8601(createdAt))))
        object.members.append(.init(key: "updated_at", value: .string(Timestamp.iso8601(updatedAt))))
        object.members.append(
            .init(key: "completed_at", value: completedAt.map { .string(Timestamp.iso8601($0)) } ?? .null))
        object.members.append(.init(key: "attempts", value: .int(attempts)))
        return .object(object)
    }

    public struct DecodingError: Error, Sendable, Equatable, CustomStringConvertible {
        /// The members that are missing or of the wrong form.
        public var problems: [String]
        public var description: String {
            "not an RPCStatus document (\(problems.joined(separator: "; "))); is the URL a syft-proxy of this version?"
        }
    }

    /// Reads a document as ``json`` writes it. Nullable members may also be absent.
    public init(json: JSONValue) throws(DecodingError) {
        var problems: [String] = []
        func string(_ key: String) -> String {
            if let text = json[key]?.stringValue { return text }
            problems.append("\(key) must be a string")
            return ""
        }
        func optionalString(_ key: String) -> String? {
            guard let value = json[key], !value.isNull else { return nil }
            if let text = value.stringValue { return text }
            problems.append("\(key) must be a string or null")
            return nil
        }
        func time(_ key: String) -> Double? {
            guard let text = optionalString(key) else { return nil }
            if let seconds = Timestamp.parseISO8601(text) { return seconds }
            problems.append("\(key) must be an ISO 8601 time with an offset")
            return nil
        }
        guard json.objectValue != nil else { throw DecodingError(problems: ["the body is \(json.typeName), not an object"]) }
        let id = string("id")
        let appName = string("app_name")
        let funcName = string("func_name")
        let destination = string("destination")
        let sender = optionalString("sender")
        let statusText = string("status")
        let state = RPCState(rawValue: statusText)
        if state == nil, !statusText.isEmpty {
            problems.append("status '\(statusText)' is none of \(RPCState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let error = optionalString("error")
        let createdAt = time("created_at")
        if createdAt == nil, json["created_at"]?.isNull ?? true { problems.append("created_at is required") }
        let updatedAt = time("updated_at")
        let completedAt = time("completed_at")
        let attempts = json["attempts"]?.intValue
        if attempts == nil { problems.append("attempts must be a whole number") }
        guard problems.isEmpty, let state, let createdAt, let attempts else { throw DecodingError(problems: problems) }
        // Spelled out: JSONValue takes nil literals, so `isNull ? nil : value` would be `.null`.
        var result: JSONValue?
        if let value = json["result"], !value.isNull { result = value }
        self.init(
            id: id, appName: appName, funcName: funcName, destination: destination, sender: sender, state: state,
            result: result, error: error, createdAt: createdAt,
            updatedAt: updatedAt ?? createdAt, completedAt: completedAt, attempts: attempts)
    }
}
