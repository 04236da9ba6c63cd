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
    private let decided = Mutex<[QueueName: Double]>([:])
    static let memorySeconds: Double = 5

    init(transport: SyftBoxTransport, store: any RPCStore, logger: Logger) {
        self.transport = transport
        self.store = store
        self.logger = logger
    }

    func prepare(appName: String, destination: String) async throws {
        guard transport.hasAppFolder(destination: destination, appName: appName) else { return }
        let pair = QueueName(appName: appName, destination: destination)
        let now = Timestamp.now()
        if let until = decided.withLock({ $0[pair] }), until > now { return }
        defer { decided.withLock { $0[pair] = now + Self.memorySeconds } }
        if try await store.hasActivePullConsumer(appName: appName, destination: destination) { return }
        let url = SyftBoxEndpoint.appURL(destination: destination, appName: appName)
        guard try await store.registerPushEndpointIfAbsent(appName: appName, destination: destination, url: url) else { return }
        logger.notice("routing a pair through SyftBox: its app folder exists and nothing else serves it", metadata: [
            "app_name": "\(appName)", "destination": "\(destination)", "url": "\(url)",
        ])
    }
}
