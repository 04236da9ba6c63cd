import Hummingbird
import SyftProxyCore

/// Guards the /admin route group (and, for the off state, /dashboard): only operators' keys
/// (PROXY_ADMIN_KEYS) pass. Without admin keys configured the console does not exist (404,
/// saying how to turn it on); an ordinary identity's key is 403; no key or an unknown one 401.
struct AdminAuthMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let adminKeys: APIKeys
    let apiKeys: APIKeys

    static let offDetail = "the operator console is off: set PROXY_ADMIN_KEYS (key=operator@example.com pairs) or PROXY_ADMIN_KEYS_FILE on every replica to turn on /admin and /dashboard"

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard !adminKeys.isEmpty else { throw APIError(.notFound, Self.offDetail) }
        guard let key = request.headers[.apiKey], !key.isEmpty else {
            throw APIError(.unauthorized, "missing X-API-Key header: the operator API needs an admin key (one of PROXY_ADMIN_KEYS)", headers: [.wwwAuthenticate: "ApiKey"])
        }
        if let operatorName = adminKeys.identity(for: key) {
            var context = context
            context.identity = operatorName
            return try await next(request, context)
        }
        if let identity = apiKeys.identity(for: key) {
            throw APIError(.forbidden, "the key of \(identity) is an API key, not an admin key; the operator API needs a key from PROXY_ADMIN_KEYS")
        }
        throw APIError(.unauthorized, "unknown admin key \(APIKeys.redacted(key)); use a key from PROXY_ADMIN_KEYS", headers: [.wwwAuthenticate: "ApiKey"])
    }
}
