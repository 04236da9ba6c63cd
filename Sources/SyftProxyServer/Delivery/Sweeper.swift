import Logging
import ServiceLifecycle
import SyftProxyCore

/// Runs on every replica: fails overdue requests, redelivers expired leases, trims ended
/// requests from pull queues, and publishes the store-wide queue gauges that /metrics shows
/// (so they are at most a second or one interval old, whichever is longer, plus one queue walk
/// for the pull depth on Redis).
/// The store makes each change atomic, so replicas sweeping at once never double-apply one.
public struct Sweeper: Service {
    let store: any RPCStore
    let interval: Double
    let metrics: ProxyMetrics
    let logger: Logger

    static let gaugeInterval = 1.0

    public init(store: any RPCStore, interval: Double, metrics: ProxyMetrics, logger: Logger) {
        self.store = store
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            // Short outages (a replica starting before its Redis connections are up) are not
            // worth a warning; one that lasts is, once.
            var failingSince: Double?
            var warned = false
            var gaugesReadAt = -Double.infinity
            while !Task.isCancelled {
                do {
                    let report = try await store.sweep()
                    metrics.swept(report)
                    if report != SweepReport() {
                        logger.debug("swept", metadata: [
                            "timed_out": "\(report.timedOut)", "redelivered": "\(report.redelivered)", "exhausted": "\(report.exhausted)",
                            "trimmed_ids": "\(report.trimmedIDs)", "forgotten_queues": "\(report.forgottenQueues)",
                        ])
                    }
                    // The gauges cost a script per shard on Redis; once a second is fresh enough for
                    // a scrape, however short the sweep interval.
                    if Timestamp.now() - gaugesReadAt >= Self.gaugeInterval {
                        metrics.record(try await store.stats())
                        gaugesReadAt = Timestamp.now()
                    }
                    if warned { logger.notice("store reachable again; sweeping resumed") }
                    failingSince = nil
                    warned = false
                } catch {
                    let since = failingSince ?? Timestamp.now()
                    failingSince = since
                    if !warned, Timestamp.now() - since > 3 {
                        logger.warning("store unreachable; overdue requests and expired leases wait until it is back", metadata: ["error": "\(error)"])
                        warned = true
                    }
                }
                try? await Task.sleep(for: .milliseconds(Int64(interval * 1000)))
            }
        }
    }
}
