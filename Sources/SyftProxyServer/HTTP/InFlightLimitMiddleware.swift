import Hummingbird
import Synchronization

/// PROXY_MAX_REQUESTS: bounds the RPC work one replica holds at once (blocking callers
/// included). Past it a caller gets 503 with Retry-After instead of the replica growing
/// without bound. It sits on the /rpc route group, so probes and metrics are never refused.
final class InFlightLimitMiddleware: RouterMiddleware, Sendable {
    typealias Context = ProxyRequestContext
    private let limit: Int
    private let current = Atomic<Int>(0)
    private let metrics: ProxyMetrics

    init(limit: Int, metrics: ProxyMetrics) {
        self.limit = limit
        self.metrics = metrics
    }

    var inFlight: Int { current.load(ordering: .relaxed) }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let now = current.add(1, ordering: .relaxed).newValue
        defer {
            let remaining = current.subtract(1, ordering: .relaxed).newValue
            metrics.inFlight.set(Double(remaining))
            metrics.inFlightNow.store(remaining, ordering: .relaxed)
        }
        metrics.inFlight.set(Double(now))
        metrics.inFlightNow.store(now, ordering: .relaxed)
        guard now <= limit else {
            throw APIError(.serviceUnavailable, "this replica is serving its limit of \(limit) requests (PROXY_MAX_REQUESTS); retry shortly or on another replica", headers: [.retryAfter: "1"])
        }
        return try await next(request, context)
    }
}
