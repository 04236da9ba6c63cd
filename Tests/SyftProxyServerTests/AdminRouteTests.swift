import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SyftProxyCore
@testable import SyftProxyServer
import Testing

/// The operator API through the full router on the embedded store.
@Suite struct AdminRouteTests {
    static let adminKey = "admin-key-0123456789"
    static let bobKey = "bob-key-0123456789"
    static let aliceKey = "alice-key-0123456789"

    static func keyed(_ configuration: inout ProxyConfiguration) {
        configuration.adminKeys = "\(adminKey)=ops@example.com"
        configuration.apiKeys = "\(bobKey)=bob@example.com,\(aliceKey)=alice@example.com"
    }

    static let admin: HTTPFields = [.init("X-API-Key")!: adminKey]

    @Test func withoutAdminKeysTheConsoleIsOffAndSaysHowToTurnItOn() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            for path in ["/admin/requests", "/admin/replicas", "/dashboard", "/dashboard/dashboard.js"] {
                let response = try await client.get(path, key: Self.adminKey)
                #expect(response.status == .notFound, "\(path)")
                #expect(response.json?["detail"]?.stringValue?.contains("PROXY_ADMIN_KEYS") == true, "\(path)")
            }
        }
    }

    @Test func onlyAdminKeysPass() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            #expect(try await client.get("/admin/requests").status == .unauthorized)
            #expect(try await client.get("/admin/requests", key: "not-a-key-at-all").status == .unauthorized)
            let identity = try await client.get("/admin/requests", key: Self.bobKey)
            #expect(identity.status == .forbidden)
            #expect(identity.json?["detail"]?.stringValue?.contains("PROXY_ADMIN_KEYS") == true)
            #expect(try await client.get("/admin/requests", key: Self.adminKey).status == .ok)
            // An admin key is no API key: /rpc stays closed to it.
            #expect(try await client.post("/rpc/send", sendBody(), key: Self.adminKey).status == .unauthorized)
        }
    }

    @Test func cancelAnswersABlockingCallerAtOnceAndALateReplyGets409() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let started = Timestamp.now()
            async let blocking = client.post("/rpc/send", sendBody(blocking: true, timeout: 30), key: Self.aliceKey)
            var id: String?
            for _ in 0..<100 where id == nil {
                id = try await client.get("/admin/requests?state=pending", key: Self.adminKey).json?["requests"]?.arrayValue?.first?["id"]?.stringValue
                if id == nil { try await Task.sleep(for: .milliseconds(20)) }
            }
            let requestID = try #require(id)
            let cancelled = try await client.post("/admin/requests/\(requestID)/cancel", [:], headers: Self.admin)
            #expect(cancelled.status == .ok)
            #expect(cancelled.json?["status"] == "failed")
            let answered = try await blocking
            #expect(answered.status == .ok)
            #expect(answered.json?["error"]?.stringValue == FailureMessages.cancelled)
            #expect(Timestamp.now() - started < 5)
            let late = try await client.post("/rpc/reply/\(requestID)", ["result": 1], key: Self.bobKey)
            #expect(late.status == .conflict)
            #expect(try await client.post("/admin/requests/\(requestID)/cancel", [:], headers: Self.admin).status == .conflict)
            let detail = try await client.get("/admin/requests/\(requestID)", key: Self.adminKey).json
            #expect(detail?["failure_class"] == "cancelled")
            #expect(detail?["timeline"]?.arrayValue?.compactMap { $0["event"]?.stringValue } == ["created", "failed"])
            #expect(try await client.post("/admin/requests/nope/cancel", [:], headers: Self.admin).status == .notFound)
        }
    }

    @Test func deadLettersAreRetriedOneByOneOrByFilterAndDeleted() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            var ids: [String] = []
            for app in ["a", "a", "b"] {
                let sent = try await client.post("/rpc/send", sendBody(app: app), key: Self.aliceKey)
                let id = try #require(sent.json?["id"]?.stringValue)
                #expect(try await client.post("/rpc/reply/\(id)", ["error": "boom"], key: Self.bobKey).status == .ok)
                ids.append(id)
            }
            let failed = try await client.get("/admin/failed", key: Self.adminKey).json
            #expect(failed?["failed"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == ids.reversed())
            #expect(failed?["failed"]?.arrayValue?.allSatisfy { $0["failure_class"] == "app_error" } == true)

            let one = try await client.post("/admin/failed/\(ids[2])/retry", [:], headers: Self.admin)
            #expect(one.status == .ok)
            #expect(one.json?["status"] == "pending")
            #expect(try await client.post("/admin/failed/\(ids[2])/retry", [:], headers: Self.admin).status == .conflict)

            let many = try await client.post("/admin/failed/retry", ["app_name": "a"], headers: Self.admin)
            #expect(many.json?["retried"]?.arrayValue?.count == 2)
            let inbox = try await client.get("/rpc/inbox/a?destination=bob@example.com&max=10", key: Self.bobKey)
            #expect(inbox.json?["requests"]?.arrayValue?.count == 2)

            let sent = try await client.post("/rpc/send", sendBody(app: "c"), key: Self.aliceKey)
            let doomed = try #require(sent.json?["id"]?.stringValue)
            #expect(try await client.execute(uri: "/admin/failed/\(doomed)", method: .delete, headers: Self.admin).status == .conflict)
            _ = try await client.post("/rpc/reply/\(doomed)", ["error": "boom"], key: Self.bobKey)
            #expect(try await client.execute(uri: "/admin/failed/\(doomed)", method: .delete, headers: Self.admin).status == .ok)
            #expect(try await client.get("/admin/requests/\(doomed)", key: Self.adminKey).status == .notFound)

            let byIDs = try await client.post("/admin/failed/retry", ["ids": [.string(doomed)]], headers: Self.admin)
            #expect(byIDs.json?["skipped"]?.arrayValue?.first?["id"]?.stringValue == doomed)
            #expect(try await client.post("/admin/failed/retry", ["ids": "x"], headers: Self.admin).status == .unprocessableContent)
        }
    }

    @Test func queuesAndPurgeTellCallersTheirRequestsWerePurged() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            var ids: [String] = []
            for _ in 0..<3 {
                ids.append(try #require(try await client.post("/rpc/send", sendBody(app: "slow"), key: Self.aliceKey).json?["id"]?.stringValue))
            }
            let queues = try await client.get("/admin/queues", key: Self.adminKey).json?["queues"]?.arrayValue ?? []
            let slow = try #require(queues.first { $0["app_name"] == "slow" })
            #expect(slow["depth"]?.intValue == 3 && slow["mode"] == "pull" && slow["destination"] == "bob@example.com")
            #expect(slow["oldest_age_seconds"]?.doubleValue != nil)
            let purge = try await client.post("/admin/queues/purge", ["app_name": "slow", "destination": "bob@example.com"], headers: Self.admin)
            #expect(purge.json == ["purged": 3, "remaining": 0])
            let status = try await client.get("/rpc/status/\(ids[0])", key: Self.aliceKey).json
            #expect(status?["status"] == "failed")
            #expect(status?["error"]?.stringValue == FailureMessages.purged)
            #expect(try await client.post("/admin/queues/purge", ["app_name": "slow"], headers: Self.admin).status == .unprocessableContent)
        }
    }

    @Test func listsValidateTheirQueryAndPagesCarryAnOpaqueCursor() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            for _ in 0..<5 { _ = try await client.post("/rpc/send", sendBody(), key: Self.aliceKey) }
            let first = try await client.get("/admin/requests?limit=2", key: Self.adminKey).json
            #expect(first?["requests"]?.arrayValue?.count == 2)
            let cursor = try #require(first?["next_cursor"]?.stringValue)
            var seen = Set(first?["requests"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? [])
            var next: String? = cursor
            while let page = next {
                let json = try await client.get("/admin/requests?limit=2&cursor=\(page)", key: Self.adminKey).json
                for id in json?["requests"]?.arrayValue?.compactMap({ $0["id"]?.stringValue }) ?? [] { #expect(seen.insert(id).inserted) }
                next = json?["next_cursor"]?.stringValue
            }
            #expect(seen.count == 5)
            #expect(try await client.get("/admin/requests?state=lost", key: Self.adminKey).status == .unprocessableContent)
            #expect(try await client.get("/admin/requests?limit=0", key: Self.adminKey).status == .unprocessableContent)
            #expect(try await client.get("/admin/requests?cursor=zz", key: Self.adminKey).status == .unprocessableContent)
        }
    }

    @Test func theReplicaListsItsOwnHeartbeat() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            var replicas: [JSONValue] = []
            for _ in 0..<200 where replicas.isEmpty {
                replicas = try await client.get("/admin/replicas", key: Self.adminKey).json?["replicas"]?.arrayValue ?? []
                if replicas.isEmpty { try await Task.sleep(for: .milliseconds(50)) }
            }
            #expect(replicas.first?["id"] == "test-replica")
            #expect(replicas.first?["version"]?.stringValue == SyftProxyVersion.current)
        }
    }

    @Test func theDashboardIsServedWithItsAssetsAndAStrictPolicy() async throws {
        try await withProxy(Self.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let page = try await client.get("/dashboard")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            let policy = page.headers[.contentSecurityPolicy] ?? ""
            #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            #expect(page.headers[.contentTypeOptions] == "nosniff")
            let html = String(buffer: page.body)
            #expect(html.contains("/dashboard/dashboard.js") && html.contains("/dashboard/dashboard.css"))
            #expect(!html.contains("<script>") && !html.contains("style="))
            let script = try await client.get("/dashboard/dashboard.js")
            #expect(script.headers[.contentType]?.hasPrefix("text/javascript") == true)
            #expect(String(buffer: script.body).contains("X-API-Key"))
            #expect(try await client.get("/dashboard/dashboard.css").headers[.contentType]?.hasPrefix("text/css") == true)
        }
    }
}

@Suite struct AdminConfigurationTests {
    @Test func theFailedTTLIsCheckedAgainstTheRequestTTL() throws {
        #expect(try ProxyConfiguration(environment: [:]).failedTTL == AdminLimits.defaultFailedTTL)
        #expect(try ProxyConfiguration(environment: ["PROXY_REQUEST_TTL": "2592000"]).failedTTL == 2_592_000)
        #expect(try ProxyConfiguration(environment: ["PROXY_FAILED_TTL": "7200"]).failedTTL == 7200)
        #expect(throws: ConfigurationError.self) { try ProxyConfiguration(environment: ["PROXY_FAILED_TTL": "60"]) }
        #expect(throws: ConfigurationError.self) { try ProxyConfiguration(environment: ["PROXY_FAILED_TTL": "-1"]) }
        #expect(throws: ConfigurationError.self) { try ProxyConfiguration(environment: ["PROXY_FAILED_TTL": "9999999999"]) }
    }

    @Test func adminKeysAreReadAsAPIKeysAreFromTheListAndTheFile() throws {
        let file = "/tmp/syft-proxy-admin-keys-\(RequestIDs.random()).txt"
        try "# operators\nfile-admin-key-123=carol@example.com\n".write(toFile: file, atomically: true, encoding: .utf8)
        var configuration = try ProxyConfiguration(environment: ["PROXY_ADMIN_KEYS": "list-admin-key-123=ops@example.com", "PROXY_ADMIN_KEYS_FILE": file])
        let keys = try configuration.loadAdminKeys()
        #expect(keys.identity(for: "list-admin-key-123") == "ops@example.com")
        #expect(keys.identity(for: "file-admin-key-123") == "carol@example.com")
        configuration.adminKeys = "short=ops@example.com"
        #expect(throws: ConfigurationError.self) { _ = try configuration.loadAdminKeys() }
    }
}

@Suite struct AdminEndpointRouteTests {
    @Test func endpointsListPushURLsAndPullConsumers() async throws {
        try await withProxy(AdminRouteTests.keyed) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let registered = try await client.put(
                "/rpc/apps/pushed/endpoint", ["destination": "bob@example.com", "url": "http://127.0.0.1:9/rpc"], key: AdminRouteTests.bobKey)
            #expect(registered.status == .ok)
            _ = try await client.get("/rpc/inbox/polled?destination=bob@example.com", key: AdminRouteTests.bobKey)
            let endpoints = try await client.get("/admin/endpoints", key: AdminRouteTests.adminKey).json?["endpoints"]?.arrayValue ?? []
            let pushed = try #require(endpoints.first { $0["app_name"] == "pushed" })
            #expect(pushed["mode"] == "push" && pushed["push_url"] == "http://127.0.0.1:9/rpc" && pushed["destination"] == "bob@example.com")
            let polled = try #require(endpoints.first { $0["app_name"] == "polled" })
            #expect(polled["mode"] == "pull" && polled["pull_consumer_last_seen"]?.stringValue != nil && polled["health"] == .null)
        }
    }
}
