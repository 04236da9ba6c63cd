import Foundation
import HTTPTypes
import HummingbirdWSClient
import Logging
import NIOCore
import ServiceLifecycle
import Synchronization
import SyftProxyCore

extension SyftApp {
    /// How ``SyftApp/serve(concurrency:pollWait:shutdownGrace:delivery:)`` takes its requests.
    public enum Delivery: Sendable, Equatable {
        /// A WebSocket where the proxy offers one, long-poll pull otherwise.
        case automatic
        /// A WebSocket only: a proxy without GET /rpc/connect is an error.
        case webSocket
        /// Long-poll pull (GET /rpc/inbox) only.
        case pull
    }

    /// Answers larger than this go as POST /rpc/reply/{id}, where the proxy answers a body over
    /// its limit with 413 instead of closing the socket on an oversized frame.
    static let largestAnswerFrame = 64 * 1024
    /// Items are at most the proxy's PROXY_MAX_BODY_BYTES; this is well above its default.
    static let largestItemFrame = 1 << 24

    func connectPath(concurrency: Int) -> String {
        let destination = destination.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? destination
        let concurrency = min(max(concurrency, 1), WebSocketLimits.maximumConcurrency)
        return "/rpc/connect/\(name)?destination=\(destination)&concurrency=\(concurrency)"
    }

    /// A plain GET of the connect route: 426 means the proxy serves WebSockets; 401, 403 and
    /// 422 are the errors the upgrade would meet too; anything else (404, 405) is a proxy from
    /// before WebSocket mode.
    func proxyServesWebSockets(concurrency: Int) async throws -> Bool {
        let answer = try await client.transport.execute(.GET, connectPath(concurrency: concurrency), repeat: .always)
        switch answer.status {
        case 426: return true
        case 401, 403, 413, 422: _ = try answer.checked()
        default: break
        }
        return false
    }

    /// Serves over one WebSocket at a time, reconnecting (to the next replica) whenever it
    /// closes, until cancelled or shut down gracefully.
    func serveOverWebSocket(concurrency: Int, shutdownGrace: Double) async throws {
        let stop = StopFlag()
        var pause = 0.05
        do {
            try await withGracefulShutdownHandler {
                while !Task.isCancelled, !stop.isSet {
                    guard let index = pickReplica() else { break }
                    let url = Self.webSocketURL(client.balancer.urls[index]) + connectPath(concurrency: concurrency)
                    do {
                        try await runSocket(url: url, stop: stop, shutdownGrace: shutdownGrace)
                        client.balancer.markHealthy(index)
                        pause = 0.05
                    } catch let error as WebSocketClientError where error == .webSocketUpgradeFailed {
                        // Refused after the probe said yes: keys changed, or an older replica.
                        guard try await proxyServesWebSockets(concurrency: concurrency) else {
                            return try await fallBackToPull(concurrency: concurrency, shutdownGrace: shutdownGrace)
                        }
                        try await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                        pause = min(2, pause * 2)
                    } catch is GraceOver {
                        throw GraceOver()
                    } catch {
                        if Task.isCancelled || stop.isSet { break }
                        client.balancer.markFailed(index)
                        try await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                        pause = min(2, pause * 2)
                    }
                }
            } onGracefulShutdown: {
                stop.set()
            }
        } catch is GraceOver {
            // The handlers that outlived the grace were cancelled and handed back their requests.
        }
    }

    private func fallBackToPull(concurrency: Int, shutdownGrace: Double) async throws {
        try await serve(concurrency: concurrency, shutdownGrace: shutdownGrace, delivery: .pull)
    }

    private func pickReplica() -> Int? {
        switch client.balancer.next(excluding: []) {
        case .healthy(let index), .lastResort(let index), .probe(let index): index
        case nil: nil
        }
    }

    static func webSocketURL(_ base: String) -> String {
        if base.hasPrefix("https://") { return "wss://" + base.dropFirst("https://".count) }
        if base.hasPrefix("http://") { return "ws://" + base.dropFirst("http://".count) }
        return base
    }

    /// One socket's life: items in, each run as its own task, answers out. On shutdown, items
    /// still arriving are handed back, running handlers get `shutdownGrace` seconds to answer,
    /// then the socket closes. Answers of handlers still running when the socket closes go by
    /// POST /rpc/reply/{id}.
    private func runSocket(url: String, stop: StopFlag, shutdownGrace: Double) async throws {
        var headers = HTTPFields()
        if let apiKey = client.transport.apiKey, let name = HTTPField.Name("X-API-Key") { headers[name] = apiKey }
        let configuration = WebSocketClientConfiguration(
            maxFrameSize: Self.largestItemFrame, additionalHeaders: headers, autoPing: .enabled(timePeriod: .seconds(30)))
        let (outgoing, send) = AsyncStream.makeStream(of: String.self)
        let closed = StopFlag()
        try await WebSocketClient.connect(url: url, configuration: configuration, logger: Logger(label: "syft-app")) { inbound, outbound, _ in
            try await withThrowingDiscardingTaskGroup { group in
                group.addTask {
                    for await frame in outgoing { try await outbound.write(.text(frame)) }
                    // Every answer is written; on shutdown that is the moment to close.
                    if stop.isSet { try? await outbound.close(.normalClosure, reason: "app shutting down") }
                }
                group.addTask {
                    while !stop.isSet, !closed.isSet { try await Task.sleep(for: .milliseconds(50)) }
                    guard stop.isSet else { return }
                    // Shutting down: running handlers answer within the grace, or are
                    // cancelled (GraceOver ends the group) and hand their requests back.
                    try await self.waitForHandlers(grace: shutdownGrace)
                    send.finish()
                }
                for try await message in inbound.messages(maxSize: Self.largestItemFrame) {
                    guard case .text(let text) = message, let frame = try? JSONParser.parse(text) else { continue }
                    if frame["func_name"] != nil {
                        guard !stop.isSet else {
                            await self.handBack(frame)
                            continue
                        }
                        group.addTask { await self.serveItem(frame, over: send, closed: closed) }
                    } else {
                        self.refused(frame, over: send)
                    }
                }
                closed.set()
                send.finish()
            }
        }
    }

    private func serveItem(_ item: JSONValue, over send: AsyncStream<String>.Continuation, closed: StopFlag) async {
        guard let id = item["id"]?.stringValue, let reply = await run(item) else { return }
        var frame: JSONObject = ["id": .string(id)]
        for member in reply.objectValue?.members ?? [] { frame[member.key] = member.value }
        let text = JSONValue.object(frame).compactString
        if !closed.isSet, text.utf8.count <= Self.largestAnswerFrame, case .enqueued = send.yield(text) {
            countAnswered()
            return
        }
        try? await deliverOverHTTP(reply, for: item, id: id)
    }

    /// A refusal frame from the proxy. A result it would not take (422: too deep, say) is
    /// replaced by an error, so the caller learns why instead of waiting for a timeout.
    private func refused(_ frame: JSONValue, over send: AsyncStream<String>.Continuation) {
        guard let id = frame["id"]?.stringValue, let status = frame["status"]?.intValue else { return }
        let detail = frame["detail"]?.stringValue ?? ""
        switch status {
        case 422 where !detail.hasPrefix("error"):
            send.yield(JSONValue.object(["id": .string(id), "error": .string("the app's result was refused by the proxy (422): \(detail)")]).compactString)
        case 404, 409:
            uncountAnswered()
        default:
            break
        }
    }
}

/// A flag set once, read from any task.
final class StopFlag: Sendable {
    private let value = Atomic(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
