import Hummingbird
import NIOCore
import SyftProxyCore

/// PROXY_RATE_LIMIT: requests per minute per identity (or per client address when the API is
/// open, see ClientAddress), counted in the store so the budget holds across all replicas.
/// The store spreads the budget evenly (GCRA): a full minute's budget may be spent at once,
/// after which one request is allowed every 60/limit seconds, so no window boundary lets a
/// second budget through straight after the first.
struct RateLimiter: Sendable {
    let store: any RPCStore
    let perMinute: Int
    static let window = 60.0

    /// Charges `cost` requests (a broadcast costs one per destination). Returns the headers
    /// to add to the answer; throws 429 with Retry-After when over budget.
    func charge(_ cost: Int, context: ProxyRequestContext) async throws -> HTTPFields {
        guard perMinute > 0 else { return [:] }
        let who = context.identity.map { "id:" + $0 } ?? "ip:" + context.clientAddress
        let decision = try await store.consumeRateLimit(key: who, cost: cost, limit: perMinute, window: Self.window)
        let reset = String(Self.wholeSeconds(decision.resetAfter))
        var headers: HTTPFields = [
            .rateLimitLimit: String(decision.limit),
            .rateLimitRemaining: String(decision.remaining),
            .rateLimitReset: reset,
        ]
        guard decision.allowed else {
            headers[.retryAfter] = String(max(1, Self.wholeSeconds(decision.resetAfter)))
            let detail = cost > perMinute
                ? "this request costs \(cost) (one per destination), more than the limit of \(perMinute) per minute; split it"
                : "rate limit of \(perMinute) requests per minute exceeded; retry after \(headers[.retryAfter] ?? reset) s"
            throw APIError(.tooManyRequests, detail, headers: headers)
        }
        return headers
    }

    /// Seconds rounded up, clamped to [0, a day] whatever the store answered.
    static func wholeSeconds(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Int(min(seconds, 86_400).rounded(.up))
    }
}
