import SyftProxyCore

/// A request's status as the proxy reports it (SPEC.md's RPCStatus).
public struct RPCStatus: Sendable, Equatable {
    public var id: String
    public var appName: String
    public var funcName: String
    public var destination: String
    public var sender: String?
    public var status: String
    public var result: JSONValue?
    public var error: String?
    public var attempts: Int
    /// The replica that answered (X-Proxy-Replica).
    public var servedBy: String?

    public var isFinal: Bool { status == "completed" || status == "failed" }

    init(json: JSONValue, servedBy: String?) throws {
        guard let id = json["id"]?.stringValue, let status = json["status"]?.stringValue else {
            throw ProxyClientError.http(status: 200, detail: "unexpected status document: \(json.compactString)")
        }
        self.id = id
        self.status = status
        self.appName = json["app_name"]?.stringValue ?? ""
        self.funcName = json["func_name"]?.stringValue ?? ""
        self.destination = json["destination"]?.stringValue ?? ""
        self.sender = json["sender"]?.stringValue
        self.result = json["result"].flatMap { $0.isNull ? nil : $0 }
        self.error = json["error"]?.stringValue
        self.attempts = json["attempts"]?.intValue ?? 0
        self.servedBy = servedBy
    }

    /// The result of a completed request; the matching error otherwise.
    public func value() throws -> JSONValue {
        switch status {
        case "completed": return result ?? .null
        case "failed":
            let message = error ?? "failed"
            if message.contains("timed out") { throw ProxyClientError.timeout(id: id, message: message) }
            throw ProxyClientError.remote(id: id, message: message)
        default:
            throw ProxyClientError.timeout(id: id, message: "still \(status)")
        }
    }
}
