import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import SyftProxyTestSupport

/// Stands in front of a replica: forwards each send to it, then answers 503 as if the
/// replica's answer was lost on the way back. A client that retries without an
/// Idempotency-Key would run the request twice.
struct LossyFront: Sendable {
    private let server: LoopbackServer

    init(forwardingTo target: String) async throws {
        server = try await LoopbackServer.start { router in
            router.post("/rpc/send") { request, _ -> Response in
                let body = try await request.body.collect(upTo: 1 << 20)
                var forward = HTTPClientRequest(url: target + "/rpc/send")
                forward.method = .POST
                forward.headers.add(name: "Content-Type", value: "application/json")
                if let key = request.headers[HTTPField.Name("Idempotency-Key")!] { forward.headers.add(name: "Idempotency-Key", value: key) }
                forward.body = .bytes(body)
                let response = try await HTTPClient.shared.execute(forward, timeout: .seconds(30))
                _ = try await response.body.collect(upTo: 1 << 20)
                return Response(status: .serviceUnavailable)
            }
        }
    }

    var url: String { server.baseURL }

    func stop() async { await server.stop() }
}
