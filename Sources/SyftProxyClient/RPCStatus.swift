import SyftProxyCore

/// A request's status as the proxy reports it: the server's ``RPCStatusDocument`` and the
/// replica that answered. Members of the document read directly (`status.id`, `status.state`).
@dynamicMemberLookup
public struct RPCStatus: Sendable, Equatable {
    public var document: RPCStatusDocument
    /// The replica that answered (X-Proxy-Replica).
    public var servedBy: String?

    public init(document: RPCStatusDocument, servedBy: String?) {
        self.document = document
        self.servedBy = servedBy
    }

    init(json: JSONValue, servedBy: String?) throws {
        do {
            self.init(document: try RPCStatusDocument(json: json), servedBy: servedBy)
        } catch {
            throw ProxyClientError.http(status: 200, detail: "\(error): \(json.compactString)")
        }
    }

    public subscript<Value>(dynamicMember member: KeyPath<RPCStatusDocument, Value>) -> Value {
        document[keyPath: member]
    }

    /// The result of a completed request; the matching error otherwise.
    public func value() throws -> JSONValue {
        switch document.state {
        case .completed: return document.result ?? .null
        case .failed:
            let message = document.error ?? "failed"
            if message.contains("timed out") { throw ProxyClientError.timeout(id: document.id, message: message) }
            throw ProxyClientError.remote(id: document.id, message: message)
        case .pending, .processing:
            throw ProxyClientError.timeout(id: document.id, message: "still \(document.state.rawValue)")
        }
    }
}
