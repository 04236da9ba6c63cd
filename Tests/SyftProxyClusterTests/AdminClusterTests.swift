import AsyncHTTPClient
import Foundation
import Hummingbird
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The operator console on two replicas sharing one redis-server: everything it shows and
/// changes lives in the store, so either replica serves it.
@Suite(.serialized) struct AdminClusterTests {
    static let adminKey = "cluster-admin-key-0123"
    static let environment = ["PROXY_ADMIN_KEYS": "\(adminKey)=ops@example.com"]
    static let admin = [("X-API-Key", adminKey)]

    static func get(_ http: HTTP, _ path: String) async throws -> HTTP.Answer {
        try await http.execute(path, method: .GET, body: nil, headers: admin, timeout: 15)
    }

    static func post(_ http: HTTP, _ path: String, _ body: JSONValue = [:]) async throws -> HTTP.Answer {
        try await http.post(path, body, headers: admin)
    }

    @Test func aRequestMadeOnOneReplicaIsListedCancelledAndRetriedFromTheOther() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: Self.environment)
        defer { cluster.stop() }
        let started = Date()
        async let caller = send(cluster.http(0), blocking: true, timeout: 20)
        var id: String?
        for _ in 0..<100 where id == nil {
            id = try await Self.get(cluster.http(1), "/admin/requests?state=pending").json?["requests"]?.arrayValue?.first?["id"]?.stringValue
            if id == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let requestID = try #require(id)
        let cancelled = try await Self.post(cluster.http(1), "/admin/requests/\(requestID)/cancel")
        #expect(cancelled.status == 200)
        let answer = try await caller
        #expect(answer.status == 200)
        #expect(answer.json?["error"]?.stringValue == FailureMessages.cancelled)
        #expect(Date().timeIntervalSince(started) < 5, "the blocking caller on replica 1 was not woken at once")
        #expect(try await cluster.http(0).post("/rpc/reply/\(requestID)", ["result": 1]).status == 409)

        let failed = try await Self.get(cluster.http(0), "/admin/failed").json?["failed"]?.arrayValue ?? []
        #expect(failed.first?["id"]?.stringValue == requestID && failed.first?["failure_class"] == "cancelled")
        let retried = try await Self.post(cluster.http(1), "/admin/failed/\(requestID)/retry")
        #expect(retried.json?["status"] == "pending")
        #expect(try await cluster.http(0).get("/rpc/status/\(requestID)").json?["status"] == "pending")
        let leased = try await cluster.http(0).get("/rpc/inbox/calculator?destination=bob@example.com&max=5").json?["requests"]?.arrayValue ?? []
        #expect(leased.compactMap { $0["id"]?.stringValue } == [requestID])
        let timeline = try await Self.get(cluster.http(1), "/admin/requests/\(requestID)").json?["timeline"]?.arrayValue ?? []
        #expect(timeline.compactMap { $0["event"]?.stringValue } == ["created", "failed", "retried", "leased"])
        #expect(timeline.last?["detail"]?.stringValue?.contains("pull consumer") == true)
    }

    @Test func everyReplicaIsListedByEither() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: Self.environment)
        defer { cluster.stop() }
        var ids: [String] = []
        for _ in 0..<100 where ids.count < 2 {
            let replicas = try await Self.get(cluster.http(0), "/admin/replicas").json?["replicas"]?.arrayValue ?? []
            ids = replicas.compactMap { $0["id"]?.stringValue }.sorted()
            if ids.count < 2 { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ids == ["replica-1", "replica-2"])
        let fromTwo = try await Self.get(cluster.http(1), "/admin/replicas").json
        #expect(fromTwo?["answered_by"] == "replica-2")
        let addresses = fromTwo?["replicas"]?.arrayValue?.compactMap { $0["address"]?.stringValue } ?? []
        #expect(Set(addresses) == Set(cluster.replicas.map { "127.0.0.1:\($0.port)" }))
    }

    @Test func pagesListEveryRequestOnceNewestFirstAcrossShards() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: Self.environment)
        defer { cluster.stop() }
        var sent: [String] = []
        for index in 0..<30 {
            let answer = try await send(cluster.http(index % 2), app: "app\(index % 4)", destination: "user\(index)@example.com")
            sent.append(try #require(answer.json?["id"]?.stringValue))
        }
        var listed: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let json = try await Self.get(cluster.http(1), "/admin/requests?limit=7" + (cursor.map { "&cursor=\($0)" } ?? "")).json
            listed += json?["requests"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []
            cursor = json?["next_cursor"]?.stringValue
            pages += 1
        } while cursor != nil && pages < 100
        #expect(listed == sent.reversed())
        #expect(pages >= 5)
    }

    @Test func purgeFailsTheQueuedRequestsSoTheirCallersLearnIt() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: Self.environment)
        defer { cluster.stop() }
        let id = try #require(try await send(cluster.http(0), app: "stuck").json?["id"]?.stringValue)
        let queues = try await Self.get(cluster.http(1), "/admin/queues").json?["queues"]?.arrayValue ?? []
        #expect(queues.first { $0["app_name"] == "stuck" }?["depth"]?.intValue == 1)
        let purged = try await Self.post(cluster.http(1), "/admin/queues/purge", ["app_name": "stuck", "destination": "bob@example.com"])
        #expect(purged.json == ["purged": 1, "remaining": 0])
        let status = try await cluster.http(0).get("/rpc/status/\(id)").json
        #expect(status?["error"]?.stringValue == FailureMessages.purged)
    }

    /// The forwarders' push outcomes reach GET /admin/endpoints on either replica within their
    /// once-a-second reports, merged in Redis.
    @Test func pushFailuresAndSuccessesShowAsTheEndpointsHealth() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: Self.environment)
        defer { cluster.stop() }
        let app = try await LoopbackServer.start { router in
            router.post("/rpc") { request, _ in
                let body = try await jsonBody(request)
                return body["params"]?["fail"] == true ? jsonResponse(["error": "the app is broken"], status: .internalServerError) : jsonResponse(["result": 1])
            }
        }
        defer { Task { await app.stop() } }
        let url = JSONValue.string(app.baseURL + "/rpc")
        #expect(try await cluster.http(0).execute("/rpc/apps/flaky/endpoint", method: .PUT, body: ByteBuffer(bytes: JSONValue.object(["destination": "bob@example.com", "url": url]).compactBytes), timeout: 15).status == 200)
        for index in 0..<2 {
            let answer = try await send(cluster.http(index), app: "flaky", params: ["fail": true], blocking: true, timeout: 10)
            #expect(answer.json?["error"]?.stringValue?.contains("broken") == true)
        }
        var health: JSONValue?
        try await eventually("both failures are reported", within: 10) {
            let endpoints = try await Self.get(cluster.http(1), "/admin/endpoints").json?["endpoints"]?.arrayValue ?? []
            health = endpoints.first { $0["app_name"] == "flaky" }?["health"]
            return health?["consecutive_failures"]?.intValue == 2
        }
        #expect(health?["last_error_message"]?.stringValue?.contains("broken") == true)
        #expect(health?["last_success"] == .null)
        _ = try await send(cluster.http(1), app: "flaky", params: ["fail": false], blocking: true, timeout: 10)
        try await eventually("the success resets the count", within: 10) {
            let endpoints = try await Self.get(cluster.http(0), "/admin/endpoints").json?["endpoints"]?.arrayValue ?? []
            health = endpoints.first { $0["app_name"] == "flaky" }?["health"]
            return health?["consecutive_failures"]?.intValue == 0 && health?["last_success"]?.stringValue != nil
        }
    }
}
