import SyftProxyTestSupport
import HTTPTypes
import Hummingbird
import NIOCore
import Synchronization
import SyftProxyCore

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
    private let task: Mutex<Task<Void, any Error>?> = Mutex(nil)
    let port: Int

    var deliveries: [Delivery] { received.entries.withLock { $0 } }

    init(port requestedPort: Int = 0, handler: @escaping @Sendable (JSONValue) -> (status: HTTPResponse.Status, body: String)) async throws {
        let router = Router()
        let received = self.received
        router.post("/rpc") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 16 * 1024 * 1024)
            let body = (try? JSONParser.parse(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [])) ?? .null
            received.entries.withLock {
                $0.append(Delivery(body: body, requestID: request.headers[HTTPField.Name("X-Request-ID")!], traceparent: request.headers[HTTPField.Name("traceparent")!]))
            }
            let answer = handler(body)
            return Response(status: answer.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: answer.body)))
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(
            router: router, configuration: .init(address: .hostname("127.0.0.1", port: requestedPort)),
            onServerRunning: { channel in continuation.yield(channel.localAddress?.port ?? 0) })
        let running = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            running.cancel()
            throw ProcessError("push responder did not start")
        }
        self.port = port
        task.withLock { $0 = running }
    }

    var url: String { "http://127.0.0.1:\(port)/rpc" }

    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = await running?.result
    }
}
