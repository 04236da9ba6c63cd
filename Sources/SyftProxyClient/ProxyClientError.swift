import SyftProxyCore

/// Why a call did not produce a result, split the way a caller handles it differently.
public enum ProxyClientError: Error, Sendable, CustomStringConvertible {
    /// No replica could be reached (refused, reset, timed out at the transport, or all down).
    case network(String)
    /// The request's own timeout passed without an answer from the app.
    case timeout(id: String, message: String)
    /// The remote function ran and reported an error.
    case remote(id: String, message: String)
    /// The proxy refused the request as invalid (422) or too large (413).
    case validation(status: Int, detail: JSONValue)
    /// Missing or unknown API key (401) or not allowed (403).
    case auth(status: Int, detail: String)
    case notFound(String)
    /// The proxy answered something else (409, 429, 5xx after retries, ...).
    case http(status: Int, detail: String)
    /// The client was set up so that no call can work (no replica URLs).
    case configuration(String)

    public var description: String {
        switch self {
        case .network(let detail): "network error: \(detail)"
        case .timeout(let id, let message): "request \(id) timed out: \(message)"
        case .remote(let id, let message): "request \(id) failed in the app: \(message)"
        case .validation(let status, let detail): "rejected as invalid (\(status)): \(detail.compactString)"
        case .auth(let status, let detail): "not authorized (\(status)): \(detail)"
        case .notFound(let detail): "not found: \(detail)"
        case .http(let status, let detail): "proxy answered \(status): \(detail)"
        case .configuration(let detail): "client misconfigured: \(detail)"
        }
    }
}
