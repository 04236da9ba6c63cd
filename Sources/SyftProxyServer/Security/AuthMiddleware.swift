import Hummingbird
import SyftProxyCore

/// With keys configured, every request it guards needs an X-API-Key that maps to an identity;
/// the identity goes into the context for the routes' ownership checks. It sits on the /rpc
/// route group (ProxyServer.makeRouter), so it runs once a request has matched an /rpc route,
/// whatever the spelling of its path: routing decides what is guarded, not a prefix test.
/// Probes, metrics, server info and the API description are registered outside the group.
struct AuthMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let keys: APIKeys

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !keys.isEmpty else { return try await next(request, context) }
        guard let key = request.headers[.apiKey], !key.isEmpty else {
            throw APIError(.unauthorized, "missing X-API-Key header: this proxy requires an API key for /rpc/* routes", headers: [.wwwAuthenticate: "ApiKey"])
        }
        guard let identity = keys.identity(for: key) else {
            throw APIError(.unauthorized, "unknown API key \(APIKeys.redacted(key)); check the key or ask the operator for one", headers: [.wwwAuthenticate: "ApiKey"])
        }
        var context = context
        context.identity = identity
        return try await next(request, context)
    }
}

/// Ownership rules of SPEC.md's Security section. All pass when the API is open.
enum Ownership {
    /// The identity acting for `destination` must be that destination.
    static func requireDestination(_ destination: String, context: ProxyRequestContext, action: String) throws {
        guard let identity = context.identity, identity != destination else { return }
        throw APIError(.forbidden, "\(identity) may not \(action) for \(destination); only \(destination) may")
    }

    /// Only the sender or the destination may read a request.
    static func requireParty(_ record: RPCRecord, context: ProxyRequestContext) throws {
        guard let identity = context.identity, identity != record.destination, identity != record.sender else { return }
        throw APIError(.forbidden, "\(identity) is neither the sender nor the destination of request '\(record.id)'")
    }
}
