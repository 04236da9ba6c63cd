import Logging
import Synchronization
import SyftProxyCore
import SyftProxySyftBox

/// Decides, at send time, whether a pair nobody registered should go through SyftBox.
///
/// The rule: when the destination's datasite has the app's `rpc/` folder (a syft-event app
/// created it), the pair has no registered endpoint (push URL or SyftBox), and no pull
/// consumer has polled its inbox within the last minute, the proxy registers the SyftBox
/// transport for the pair, exactly as `PUT /rpc/apps/{app}/endpoint` with
/// `{"transport": "syftbox"}` would, and logs it. The "no endpoint" check and the
/// registration are one atomic store step, so an endpoint registered meanwhile (by an app,
/// or another replica) is never overwritten. Decisions are remembered for a few seconds so a
/// busy pair costs one `stat` per send, not store round trips.
final class SyftBoxRouting: Sendable {
    let transport: SyftBoxTransport
    let store: any RPCStore
    let logger: Logger
    private let decided = Mutex(RecentDecisions(limit: 10_000))
    static let memorySeconds: Double = 5

    init(transport: SyftBoxTransport, store: any RPCStore, logger: Logger) {
        self.transport = transport
        self.store = store
        self.logger = logger
    }

    func prepare(appName: String, destination: String) async throws {
        guard await transport.hasAppFolder(destination: destination, appName: appName) else { return }
        let pair = QueueName(appName: appName, destination: destination)
        let now = Timestamp.now()
        if decided.withLock({ $0.isFresh(pair, now: now) }) { return }
        defer { decided.withLock { $0.remember(pair, until: now + Self.memorySeconds, now: now) } }
        if try await store.hasActivePullConsumer(appName: appName, destination: destination) { return }
        let url = SyftBoxEndpoint.appURL(destination: destination, appName: appName)
        guard try await store.registerPushEndpointIfAbsent(appName: appName, destination: destination, url: url) else { return }
        logger.notice("routing a pair through SyftBox: its app folder exists and nothing else serves it", metadata: [
            "app_name": "\(appName)", "destination": "\(destination)", "url": "\(url)",
        ])
    }
}

/// Pairs decided recently, each until a time. At `limit` entries the stale ones go, and if
/// all are fresh, all go (costing each pair one more decision): insertions stay amortized
/// O(1) and memory bounded however many pairs a replica sees.
struct RecentDecisions {
    let limit: Int
    private var until: [QueueName: Double] = [:]

    init(limit: Int) { self.limit = limit }

    var count: Int { until.count }

    func isFresh(_ pair: QueueName, now: Double) -> Bool {
        (until[pair] ?? -.infinity) > now
    }

    mutating func remember(_ pair: QueueName, until time: Double, now: Double) {
        if until[pair] == nil, until.count >= limit {
            until = until.filter { $0.value > now }
            if until.count >= limit { until.removeAll(keepingCapacity: true) }
        }
        until[pair] = time
    }
}
