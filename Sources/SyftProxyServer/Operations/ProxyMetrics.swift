import Prometheus
import SyftProxyCore

/// The replica's Prometheus metrics. Each proxy owns its registry (no global bootstrap), so
/// several proxies can run in one process, as the route tests do.
public final class ProxyMetrics: Sendable {
    public let registry = PrometheusCollectorRegistry()
    private let durationBuckets: [Double] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300]
    let inFlight: Gauge
    let queuedPull: Gauge
    let queuedPush: Gauge
    let leased: Gauge
    let waitingCallers: Gauge

    public init() {
        inFlight = registry.makeGauge(name: "rpc_in_flight_requests", help: "HTTP requests being served by this replica, blocking callers included")
        queuedPull = registry.makeGauge(name: "rpc_queue_depth", labels: [("mode", "pull")], help: "Requests waiting for delivery")
        queuedPush = registry.makeGauge(name: "rpc_queue_depth", labels: [("mode", "push")], help: "Requests waiting for delivery")
        leased = registry.makeGauge(name: "rpc_leased_requests", help: "Deliveries out on a lease, not yet answered")
        waitingCallers = registry.makeGauge(name: "rpc_waiting_callers", help: "Blocking callers waiting on this replica")
    }

    /// One per request this replica accepted (SPEC.md: grows by one per accepted request).
    func accepted(_ record: RPCRecord) {
        registry.makeCounter(name: "rpc_requests_total", labels: [("app_name", record.appName), ("func_name", record.funcName), ("status", "accepted")], help: "RPC requests by outcome").increment()
    }

    /// Outcomes seen by this replica: answers it took and blocking calls it finished.
    func finished(_ record: RPCRecord) {
        registry.makeCounter(name: "rpc_outcomes_total", labels: [("app_name", record.appName), ("func_name", record.funcName), ("status", record.timedOut ? "timeout" : record.state.rawValue)], help: "Requests that reached a final state through this replica").increment()
        if let completedAt = record.completedAt {
            registry.makeValueHistogram(name: "rpc_request_duration_seconds", labels: [("app_name", record.appName), ("func_name", record.funcName)], buckets: durationBuckets, help: "Time from acceptance to answer").record(max(0, completedAt - record.createdAt))
        }
    }

    func delivered(count: Int, mode: String) {
        guard count > 0 else { return }
        registry.makeCounter(name: "rpc_deliveries_total", labels: [("mode", mode)], help: "Deliveries handed to apps").increment(by: Int64(count))
    }

    func pushFailure(_ reason: String) {
        registry.makeCounter(name: "rpc_push_errors_total", labels: [("reason", reason)], help: "Push deliveries that did not reach the app").increment()
    }

    func swept(_ report: SweepReport) {
        if report.timedOut > 0 { registry.makeCounter(name: "rpc_sweeps_total", labels: [("outcome", "timed_out")], help: "Requests changed by the sweeper").increment(by: Int64(report.timedOut)) }
        if report.redelivered > 0 { registry.makeCounter(name: "rpc_sweeps_total", labels: [("outcome", "redelivered")], help: "Requests changed by the sweeper").increment(by: Int64(report.redelivered)) }
        if report.exhausted > 0 { registry.makeCounter(name: "rpc_sweeps_total", labels: [("outcome", "exhausted")], help: "Requests changed by the sweeper").increment(by: Int64(report.exhausted)) }
    }

    func http(status: Int) {
        registry.makeCounter(name: "http_responses_total", labels: [("code", String(status))], help: "HTTP responses by status code").increment()
    }

    func record(_ stats: StoreStats) {
        queuedPull.set(Double(stats.queuedForPull))
        queuedPush.set(Double(stats.queuedForPush))
        leased.set(Double(stats.leased))
    }
}
