import Hummingbird
import NIOCore
import SyftProxyCore

/// PROXY_RATE_LIMIT: requests per minute per identity (or per client address when the API is
/// open), counted in the store so the budget holds across all replicas.
struct RateLimiter: Sendable {
    let store: any RPCStore
    let perMinute: Int
    static let window = 60.0

    /// Charges `cost` requests (a broadcast costs one per destination). Returns the headers
    /// to add to the answer; throws 429 with Retry-After when over budget.
    func charge(_ cost: Int, context: ProxyRequestContext) async throws -> HTTPFields {
        guard perMinute > 0 else { return [:] }
        let who = context.identity.map { "id:" + $0 } ?? "ip:" + (context.remoteAddress?.ipAddress ?? "unknown")
        let decision = try await store.consumeRateLimit(key: who, cost: cost, limit: perMinute, window: Self.window)
        let reset = String(Int(decision.resetAfter.rounded(.up)))
        var headers: HTTPFields = [
            .rateLimitLimit: String(decision.limit),
            .rateLimitRemaining: String(decision.remaining),
            .rateLimitReset: reset,
        ]
        guard decision.allowed else {
            headers[.retryAfter] = String(max(1, Int(decision.resetAfter.rounded(.up))))
            let detail = cost > perMinute
                ? "this request costs \(cost) (one per destination), more than the limit of \(perMinute) per minute; split it"
                : "rate limit of \(perMinute) requests per minute exceeded; retry after \(headers[.retryAfter] ?? reset) s"
            throw APIError(.tooManyRequests, detail, headers: headers)
        }
        return headers
    }
}
