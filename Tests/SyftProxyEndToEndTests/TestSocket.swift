import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import Synchronization
import SyftProxyCore
import SyftProxyTestSupport

/// An app's end of GET /rpc/connect for the tests: collects the frames the proxy sends, and
/// sends frames of the test's making.
final class TestSocket: Sendable {
    private let frames = Mutex<[JSONValue]>([])
    private let outgoing: AsyncStream<WebSocketOutboundWriter.OutboundFrame>
    private let send: AsyncStream<WebSocketOutboundWriter.OutboundFrame>.Continuation
    private let task = Mutex<Task<WebSocketCloseFrame?, any Error>?>(nil)
    private let opened = Mutex(false)
    /// Why the connection ended, once it did.
    private let ended = Mutex<(any Error)?>(nil)

    private init() {
        (outgoing, send) = AsyncStream.makeStream()
    }

    /// Connects and returns once the upgrade succeeded; throws when it is refused or does not
    /// complete within 10 s.
    static func connect(_ baseURL: String, app: String = "calculator", destination: String = "bob@example.com", concurrency: Int? = nil, apiKey: String? = nil) async throws -> TestSocket {
        let socket = TestSocket()
        var url = baseURL.replacingOccurrences(of: "http://", with: "ws://") + "/rpc/connect/\(app)?destination=\(destination)"
        if let concurrency { url += "&concurrency=\(concurrency)" }
        var headers = HTTPFields()
        if let apiKey, let name = HTTPField.Name("X-API-Key") { headers[name] = apiKey }
        let configuration = WebSocketClientConfiguration(maxFrameSize: 1 << 22, additionalHeaders: headers)
        let run = Task {
            defer { if socket.ended.withLock({ $0 }) == nil { socket.ended.withLock { $0 = TestFailure("websocket closed") } } }
            do {
            return try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "test-socket")) { inbound, outbound, _ in
                socket.opened.withLock { $0 = true }
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask {
                        for try await message in inbound.messages(maxSize: 1 << 22) {
                            guard case .text(let text) = message else { continue }
                            let json = try JSONParser.parse(text)
                            socket.frames.withLock { $0.append(json) }
                        }
                    }
                    group.addTask {
                        for await frame in socket.outgoing { try await outbound.write(frame) }
                    }
                    _ = try await group.next()
                    group.cancelAll()
                }
            }
            } catch {
                socket.ended.withLock { $0 = error }
                throw error
            }
        }
        socket.task.withLock { $0 = run }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            if socket.opened.withLock({ $0 }) { return socket }
            // A refused upgrade ends the task with an error before the handler runs.
            if let error = socket.ended.withLock({ $0 }) { throw error }
            try await Task.sleep(for: .milliseconds(20))
        }
        run.cancel()
        throw TestFailure("websocket to \(url) did not open within 10 s")
    }

    var received: [JSONValue] { frames.withLock { $0 } }
    /// Frames that are inbox items (not refusals).
    var items: [JSONValue] { received.filter { $0["func_name"] != nil } }
    var refusals: [JSONValue] { received.filter { $0["status"] != nil } }

    func waitForItems(_ count: Int, within seconds: Double = 10) async throws {
        try await eventually("\(count) items on the socket (have \(items.count))", within: seconds) { items.count >= count }
    }

    func waitForRefusals(_ count: Int, within seconds: Double = 10) async throws {
        try await eventually("\(count) refusal frames on the socket (have \(refusals.count))", within: seconds) { refusals.count >= count }
    }

    func sendText(_ text: String) { send.yield(.text(text)) }
    func sendJSON(_ json: JSONValue) { sendText(json.compactString) }
    func sendBinary(_ bytes: [UInt8]) { send.yield(.binary(ByteBuffer(bytes: bytes))) }

    /// Answers an add or multiply item as the calculator would.
    func answer(_ item: JSONValue) {
        let a = item["params"]?["a"]?.doubleValue ?? 0
        let b = item["params"]?["b"]?.doubleValue ?? 0
        let result = item["func_name"] == "multiply" ? a * b : a + b
        sendJSON(["id": item["id"] ?? .null, "result": .double(result)])
    }

    /// The close frame the proxy sent, once the socket ended.
    func closeFrame(within seconds: Double = 10) async throws -> WebSocketCloseFrame? {
        let run = task.withLock { $0 }
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline, ended.withLock({ $0 }) == nil { try await Task.sleep(for: .milliseconds(20)) }
        return try await run?.value
    }

    /// Ends the socket from the app's side, without answering what it holds.
    func close() async {
        send.finish()
        let run = task.withLock { $0 }
        _ = try? await run?.value
    }
}
