import Foundation
import Hummingbird
import HTTPTypes
import ServiceLifecycle
import Synchronization
import Testing
import Logging
import SyftProxyClient
import SyftProxyCore
import SyftProxyTestSupport

/// The app SDK against a scripted stand-in replica: one request in the inbox, replies answered
/// with the statuses a test chooses.
@Suite struct AppReplyTests {
    final class Calls: Sendable {
        let replies = Mutex<[JSONValue]>([])
        let inbox = Mutex(0)
        let releases = Mutex<[JSONValue]>([])
    }

    final class ScriptedReplica: Sendable {
        let server: LoopbackServer
        let calls = Calls()

        /// `replyStatuses` answer the replies in turn (the last one repeats); `inboxStatus`
        /// answers every inbox poll after the first, which hands out one request.
        init(replyStatuses: [HTTPResponse.Status], inboxStatus: HTTPResponse.Status = .ok) async throws {
            let calls = self.calls
            server = try await LoopbackServer.start { router in
                router.put("/rpc/schema/:app") { _, _ in jsonResponse(["status": "published"]) }
                router.get("/rpc/inbox/:app") { _, _ -> Response in
                    let n = calls.inbox.withLock { $0 += 1; return $0 }
                    if n == 1 && inboxStatus == .ok {
                        let deadline = Timestamp.iso8601(Timestamp.now() + 20)
                        return jsonResponse(["requests": [["id": "r1", "app_name": "calculator", "func_name": "add", "params": ["a": 1, "b": 2],
                                                           "headers": [:], "sender": "alice@example.com", "deadline": .string(deadline), "attempts": 1, "lease": "7"]]])
                    }
                    try await Task.sleep(for: .milliseconds(100))
                    if inboxStatus != .ok { return jsonResponse(["detail": "unknown API key"], status: inboxStatus) }
                    return jsonResponse(["requests": []])
                }
                router.post("/rpc/release/:id") { request, _ -> Response in
                    let body = try await jsonBody(request)
                    calls.releases.withLock { $0.append(["path": .string(request.uri.path), "body": body]) }
                    return jsonResponse(["id": "r1", "status": "pending"])
                }
                router.post("/rpc/reply/:id") { request, _ -> Response in
                    let body = try await jsonBody(request)
                    let n = calls.replies.withLock { $0.append(body); return $0.count }
                    let status = replyStatuses[min(n, replyStatuses.count) - 1]
                    return jsonResponse(["detail": "scripted"], status: status)
                }
            }
        }

        func app(handler: @escaping SyftApp.Handler = { call in .double((call.params["a"]?.doubleValue ?? 0) + (call.params["b"]?.doubleValue ?? 0)) }) -> SyftApp {
            let app = SyftApp(name: "calculator", destination: "bob@example.com", client: ProxyClient(urls: [server.baseURL], transportTimeout: 2))
            app.function("add", handler: handler)
            return app
        }
    }

    @Test func aRefusedReplyIsRetriedUntilTheProxyTakesIt() async throws {
        let replica = try await ScriptedReplica(replyStatuses: [.serviceUnavailable, .serviceUnavailable, .ok])
        defer { Task { await replica.server.stop() } }
        let app = replica.app()
        let serving = Task { try await app.serve(concurrency: 2, pollWait: 0) }
        defer { serving.cancel() }
        try await eventually("the app answers the request", within: 10) { app.answeredCount == 1 }
        #expect(replica.calls.replies.withLock { $0.count } >= 3, "the reply was sent again after each 503")
    }

    @Test func aReplyThatIsNeverTakenIsNotCountedAsAnswered() async throws {
        let replica = try await ScriptedReplica(replyStatuses: [.conflict])
        defer { Task { await replica.server.stop() } }
        let app = replica.app()
        let serving = Task { try await app.serve(concurrency: 2, pollWait: 0) }
        defer { serving.cancel() }
        try await eventually("one reply reaches the replica", within: 5) { replica.calls.replies.withLock { $0.count } == 1 }
        try await Task.sleep(for: .milliseconds(200))
        #expect(app.answeredCount == 0)
    }

    @Test func aResultTheProxyRefusesBecomesAnErrorReply() async throws {
        let replica = try await ScriptedReplica(replyStatuses: [.contentTooLarge, .ok])
        defer { Task { await replica.server.stop() } }
        let app = replica.app()
        let serving = Task { try await app.serve(concurrency: 2, pollWait: 0) }
        defer { serving.cancel() }
        try await eventually("both replies reach the replica", within: 10) { replica.calls.replies.withLock { $0.count } == 2 }
        let second = try #require(replica.calls.replies.withLock { $0.last })
        #expect(second["error"]?.stringValue?.contains("refused by the proxy") == true, "the caller learns why: \(second.compactString)")
    }

    @Test func aRefusedKeyEndsServe() async throws {
        let replica = try await ScriptedReplica(replyStatuses: [.ok], inboxStatus: .unauthorized)
        defer { Task { await replica.server.stop() } }
        let app = replica.app()
        let ending = Mutex<(any Error)?>(nil)
        let serving = Task {
            do { try await app.serve(concurrency: 2, pollWait: 0) } catch { ending.withLock { $0 = error } }
        }
        defer { serving.cancel() }
        try await eventually("serve() kept polling with a key the proxy refuses", within: 10) { ending.withLock { $0 != nil } }
        let error = ending.withLock { $0 }
        guard case ProxyClientError.auth(401, _)? = error as? ProxyClientError else {
            Issue.record("serve() ended with \(String(describing: error)), not the auth error"); return
        }
    }

    @Test func gracefulShutdownLetsARunningHandlerAnswer() async throws {
        let replica = try await ScriptedReplica(replyStatuses: [.ok])
        defer { Task { await replica.server.stop() } }
        let started = Mutex(false)
        let app = replica.app { call in
            started.withLock { $0 = true }
            try await Task.sleep(for: .milliseconds(500))
            return .double(3)
        }
        let group = ServiceGroup(services: [app], logger: Logger(label: "app-tests"))
        let running = Task { try await group.run() }
        try await eventually("the app starts serving", within: 5) { started.withLock { $0 } }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(app.answeredCount == 1, "the handler that was running finished and its reply was sent")
        #expect(replica.calls.replies.withLock { $0.first?["result"] } == .double(3))
    }

    /// serve() with a short grace, as a service of its own.
    struct ServingWithGrace: Service {
        let app: SyftApp
        let grace: Double
        func run() async throws { try await app.serve(concurrency: 2, pollWait: 0, shutdownGrace: grace) }
    }

    @Test func aHandlerStillRunningAfterTheGraceHandsItsRequestBack() async throws {
        let replica = try await ScriptedReplica(replyStatuses: [.ok])
        defer { Task { await replica.server.stop() } }
        let started = Mutex(false)
        let app = replica.app { _ in
            started.withLock { $0 = true }
            try await Task.sleep(for: .seconds(30))
            return .double(3)
        }
        let group = ServiceGroup(services: [ServingWithGrace(app: app, grace: 0.3)], logger: Logger(label: "app-tests"))
        let running = Task { try await group.run() }
        try await eventually("the handler starts") { started.withLock { $0 } }
        let shutdownAt = ContinuousClock.now
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(ContinuousClock.now - shutdownAt < .seconds(5), "the grace, not the handler, bounds the shutdown")
        let releases = replica.calls.releases.withLock { $0 }
        #expect(releases == [["path": "/rpc/release/r1", "body": ["lease": "7"]]])
        #expect(app.answeredCount == 0)
        #expect(replica.calls.replies.withLock { $0.isEmpty })
    }
}
