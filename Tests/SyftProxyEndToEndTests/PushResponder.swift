import HTTPTypes
import Hummingbird
import Synchronization
import SyftProxyCore
import SyftProxyTestSupport

/// App B in push mode: a real HTTP server on a free loopback port that records what the proxy
/// POSTs and answers with `handler`.
final class PushResponder: Sendable {
    struct Delivery: Sendable {
        let body: JSONValue
        let requestID: String?
        let traceparent: String?
    }

    private final class DeliveryLog: Sendable {
        let entries = Mutex<[Delivery]>([])
    }

    private let received = DeliveryLog()
    private let server: LoopbackServer

    var deliveries: [Delivery] { received.entries.withLock { $0 } }
    var port: Int { server.port }
    var url: String { server.baseURL + "/rpc" }

    init(port: Int = 0, handler: @escaping @Sendable (JSONValue) -> (status: HTTPResponse.Status, body: String)) async throws {
        let received = self.received
        server = try await LoopbackServer.start(port: port) { router in
            router.post("/rpc") { request, _ -> Response in
                let body = try await jsonBody(request)
                received.entries.withLock {
                    $0.append(Delivery(body: body, requestID: request.headers[HTTPField.Name("X-Request-ID")!], traceparent: request.headers[HTTPField.Name("traceparent")!]))
                }
                let answer = handler(body)
                return Response(status: answer.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: .init(string: answer.body)))
            }
        }
    }

    func stop() async { await server.stop() }
}
