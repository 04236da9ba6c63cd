import Hummingbird
import Synchronization
import SyftProxyCore
import SyftProxyTestSupport

final class DeliveryCounter: Sendable {
    let counts = Mutex<[String: Int]>([:])
}

/// A push-mode app that takes `delay` to answer each request, so deliveries are in flight
/// when a replica is killed.
final class SlowPushApp: Sendable {
    private let server: LoopbackServer
    private let received = DeliveryCounter()

    /// Deliveries that reached the app, per request id.
    var deliveries: [String: Int] { received.counts.withLock { $0 } }

    init(delay: Duration) async throws {
        let received = self.received
        server = try await LoopbackServer.start { router in
            router.post("/rpc") { request, _ -> Response in
                let body = try await jsonBody(request)
                if let id = body["id"]?.stringValue { received.counts.withLock { $0[id, default: 0] += 1 } }
                try await Task.sleep(for: delay)
                return jsonResponse(["result": ["n": body["params"]?["n"] ?? .null]])
            }
        }
    }

    var url: String { server.baseURL + "/rpc" }

    func stop() async { await server.stop() }
}
