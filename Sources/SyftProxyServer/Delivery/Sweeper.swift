import Logging
import ServiceLifecycle
import SyftProxyCore

/// Runs on every replica: fails overdue requests and redelivers expired leases. The store
/// makes each change atomic, so replicas sweeping at once never double-apply one.
public struct Sweeper: Service {
    let store: any RPCStore
    let interval: Double
    let metrics: ProxyMetrics
    let logger: Logger

    public init(store: any RPCStore, interval: Double, metrics: ProxyMetrics, logger: Logger) {
        self.store = store
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            var failing = false
            while !Task.isCancelled {
                do {
                    let report = try await store.sweep()
                    metrics.swept(report)
                    if report != SweepReport() {
                        logger.debug("swept", metadata: ["timed_out": "\(report.timedOut)", "redelivered": "\(report.redelivered)", "exhausted": "\(report.exhausted)"])
                    }
                    if failing { logger.info("store reachable again; sweeping resumed") }
                    failing = false
                } catch {
                    if !failing { logger.warning("sweep failed; retrying", metadata: ["error": "\(error)"]) }
                    failing = true
                }
                try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            }
        }
    }
}
