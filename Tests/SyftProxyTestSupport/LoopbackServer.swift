import Hummingbird
import NIOCore
import SyftProxyCore

/// A throwaway HTTP server on 127.0.0.1 (a push app, a fault injector), started on a free
/// port or a given one, and stopped by `stop()`.
public struct LoopbackServer: Sendable {
    public let port: Int
    private let task: Task<Void, any Error>

    public static func start(port requestedPort: Int = 0, routes: (Router<BasicRequestContext>) -> Void) async throws -> LoopbackServer {
        let router = Router()
        routes(router)
        let (stream, continuation) = AsyncStream<Int>.makeStream()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: requestedPort)),
                              onServerRunning: { continuation.yield($0.localAddress?.port ?? 0) })
        let task = Task { try await app.run() }
        var iterator = stream.makeAsyncIterator()
        guard let port = await iterator.next(), port > 0 else {
            task.cancel()
            throw TestFailure("loopback server did not start")
        }
        return LoopbackServer(port: port, task: task)
    }

    public var baseURL: String { "http://127.0.0.1:\(port)" }

    public func stop() async {
        task.cancel()
        _ = await task.result
    }
}

/// Reads a request body as JSON (null when it is not JSON).
public func jsonBody(_ request: Request, limit: Int = 1 << 20) async throws -> JSONValue {
    let buffer = try await request.body.collect(upTo: limit)
    return (try? JSONParser.parse(buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? [])) ?? .null
}

/// A JSON answer.
public func jsonResponse(_ value: JSONValue, status: HTTPResponse.Status = .ok) -> Response {
    Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: value.compactBytes)))
}
