import AsyncHTTPClient
import HTTPTypes
import Hummingbird
import NIOCore
import SyftProxyTestSupport

/// Stands in front of a replica: forwards each request to it, then answers 503 as if the
/// replica's answer was lost on the way back. A client that retries without an
/// Idempotency-Key would run the request twice.
final class LossyFront: Sendable {
    let port: Int
    private let task: Task<Void, any Error>

    init(forwardingTo target: String) async throws {
        let router = Router()
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
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ProcessError("lossy front did not start") }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)" }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}
