import Prometheus
import Synchronization
import SyftProxyCore

/// The replica's Prometheus metrics. Each proxy owns its registry (no global bootstrap), so
/// several proxies can run in one process, as the route tests do.
public final class ProxyMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    let inFlight: Gauge
    let queuedPull: Gauge
    let queuedPush: Gauge
    let leased: Gauge
    let syftBoxPending: Gauge
    let webSockets: Gauge
    let webSocketFramesIn: Counter
    let webSocketFramesOut: Counter
    /// Round trips this replica recorded since its last heartbeat, for /admin/replicas.
    let roundTrips = RoundTripWindow()
    /// What the rpc_in_flight gauge shows, readable for the heartbeat.
    let inFlightNow = Atomic<Int>(0)

    // Computed: the descriptor type is not Sendable, so it cannot be a shared constant.
    private enum Name {
        static var requests: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_requests", unitName: "total", helpText: "RPC requests accepted by this replica") }
        static var outcomes: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_outcomes", unitName: "total", helpText: "Requests that reached a final state through this replica") }
        static var duration: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_request_duration", unitName: "seconds", helpText: "Time from acceptance to answer") }
        static var deliveries: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_deliveries", unitName: "total", helpText: "Deliveries handed to apps") }
        static var directDeliveries: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_direct_deliveries", unitName: "total", helpText: "Deliveries leased in their send's create step and handed in process to a consumer on this replica (also counted in rpc_deliveries_total)") }
        static var pushErrors: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_push_errors", unitName: "total", helpText: "Push deliveries that did not reach the app") }
        static var sweeps: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_sweeps", unitName: "total", helpText: "Requests changed by the sweeper") }
        static var responses: MetricNameDescriptor { MetricNameDescriptor(metricName: "http_responses", unitName: "total", helpText: "HTTP responses by status code") }
        static var inFlight: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_in_flight", unitName: "requests", helpText: "HTTP requests being served by this replica, blocking callers included") }
        static var queueDepth: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_queue", unitName: "depth", helpText: "Requests waiting for delivery, cluster-wide") }
        static var syftBoxPending: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_syftbox_pending", unitName: "requests", helpText: "SyftBox request files this replica waits on for an answer") }
        static var webSockets: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_websockets", unitName: "open", helpText: "App WebSockets (GET /rpc/connect) open on this replica") }
        static var webSocketFrames: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_websocket_frames", unitName: "total", helpText: "Text and binary frames on app WebSockets, by direction") }
        static var leased: MetricNameDescriptor { MetricNameDescriptor(metricName: "rpc_leased", unitName: "requests", helpText: "Deliveries out on a lease, cluster-wide") }
    }

    private static let durationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]

    public init() {
        inFlight = registry.makeGauge(descriptor: Name.inFlight)
        queuedPull = registry.makeGauge(descriptor: Name.queueDepth, labels: [("mode", "pull")])
        queuedPush = registry.makeGauge(descriptor: Name.queueDepth, labels: [("mode", "push")])
        leased = registry.makeGauge(descriptor: Name.leased)
        syftBoxPending = registry.makeGauge(descriptor: Name.syftBoxPending)
        webSockets = registry.makeGauge(descriptor: Name.webSockets)
        webSocketFramesIn = registry.makeCounter(descriptor: Name.webSocketFrames, labels: [("direction", "in")])
        webSocketFramesOut = registry.makeCounter(descriptor: Name.webSocketFrames, labels: [("direction", "out")])
    }

    /// One per request this replica accepted (SPEC.md: grows by one per accepted request).
    func accepted(_ record: RPCRecord) {
        registry.makeCounter(descriptor: Name.requests, labels: [("app_name", record.appName), ("func_name", record.funcName), ("status", "accepted")]).increment()
    }

    /// Answers this replica recorded, with how long each request took.
    func finished(_ record: RPCRecord) {
        let outcome = record.timedOut ? "timeout" : record.state.rawValue
        registry.makeCounter(descriptor: Name.outcomes, labels: [("app_name", record.appName), ("func_name", record.funcName), ("status", outcome)]).increment()
        if let completedAt = record.completedAt {
            roundTrips.record(max(0, completedAt - record.createdAt))
            registry.makeValueHistogram(descriptor: Name.duration, labels: [("app_name", record.appName), ("func_name", record.funcName)], buckets: Self.durationBuckets)
                .record(max(0, completedAt - record.createdAt))
        }
    }

    func delivered(count: Int, mode: String) {
        guard count > 0 else { return }
        registry.makeCounter(descriptor: Name.deliveries, labels: [("mode", mode)]).increment(by: Int64(count))
    }

    /// A delivery through the local fast path (LocalConsumers).
    func deliveredDirectly(mode: String) {
        delivered(count: 1, mode: mode)
        registry.makeCounter(descriptor: Name.directDeliveries, labels: [("mode", mode)]).increment()
    }

    func webSocketOpened() { webSockets.increment(by: 1) }
    func webSocketClosed() { webSockets.decrement(by: 1) }
    /// Data frames only; pings and pongs are the transport's own.
    func webSocketFrame(outbound: Bool) { (outbound ? webSocketFramesOut : webSocketFramesIn).increment() }
    func pushFailure(_ reason: String) {
        registry.makeCounter(descriptor: Name.pushErrors, labels: [("reason", reason)]).increment()
    }

    func swept(_ report: SweepReport) {
        for (outcome, count) in [("timed_out", report.timedOut), ("redelivered", report.redelivered), ("exhausted", report.exhausted)] where count > 0 {
            registry.makeCounter(descriptor: Name.sweeps, labels: [("outcome", outcome)]).increment(by: Int64(count))
        }
    }

    func http(status: Int) {
        registry.makeCounter(descriptor: Name.responses, labels: [("code", String(status))]).increment()
    }

    func record(_ stats: StoreStats) {
        queuedPull.set(Double(stats.queuedForPull))
        queuedPush.set(Double(stats.queuedForPush))
        leased.set(Double(stats.leased))
    }
}
