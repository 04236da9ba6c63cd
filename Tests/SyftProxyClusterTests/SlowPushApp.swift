import HTTPTypes
import Hummingbird
import NIOCore
import SyftProxyCore
import Synchronization
import SyftProxyTestSupport

final class DeliveryCounter: Sendable {
    let counts = Mutex<[String: Int]>([:])
}

/// A push-mode app that takes `delay` to answer each request, so deliveries are in flight
/// when a replica is killed.
final class SlowPushApp: Sendable {
    let port: Int
    private let task: Task<Void, any Error>
    private let received = DeliveryCounter()

    /// Deliveries that reached the app, per request id.
    var deliveries: [String: Int] { received.counts.withLock { $0 } }

    init(delay: Duration) async throws {
        let router = Router()
        let received = self.received
        router.post("/rpc") { request, _ -> Response in
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let body = (try? JSONParser.parse(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [])) ?? .null
            if let id = body["id"]?.stringValue { received.counts.withLock { $0[id, default: 0] += 1 } }
            try await Task.sleep(for: delay)
            let answer: JSONValue = ["result": ["n": body["params"]?["n"] ?? .null]]
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: answer.compactBytes)))
        }
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else { throw ProcessError("push app did not start") }
        self.port = port
    }

    var url: String { "http://127.0.0.1:\(port)/rpc" }

    func stop() async {
        task.cancel()
        _ = await task.result
    }
}
