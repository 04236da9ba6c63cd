import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

@Suite struct SendRouteTests {
    @Test func nonBlockingSendAnswersPendingAndStatusReadsIt() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let sent = try await client.post("/rpc/send", sendBody())
            #expect(sent.status == .ok)
            let id = try #require(sent.json?["id"]?.stringValue)
            #expect(sent.json?["status"] == "pending")
            #expect(sent.headers[.init("X-Request-ID")!] == id)
            #expect(sent.headers[.init("X-Proxy-Replica")!] == "test-replica")
            let status = try await client.get("/rpc/status/\(id)")
            #expect(status.status == .ok)
            let json = try #require(status.json?.objectValue)
            #expect(json.keys == ["id", "app_name", "func_name", "destination", "sender", "status", "result", "error", "created_at", "updated_at", "completed_at", "attempts"])
            #expect(json["created_at"]?.stringValue?.hasSuffix("Z") == true)
        }
    }

    @Test func blockingSendReturnsTheAppsResult() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            async let answered = respondOnce(client) { item in
                let a = item["params"]?["a"]?.intValue ?? 0
                let b = item["params"]?["b"]?.intValue ?? 0
                return ["result": .int(a + b)]
            }
            let sent = try await client.post("/rpc/send", sendBody(blocking: true, timeout: 10))
            #expect(try await answered == 200)
            #expect(sent.status == .ok)
            #expect(sent.json?["status"] == "completed")
            #expect(sent.json?["result"] == 8)
            #expect(sent.json?["attempts"] == 1)
        }
    }

    @Test func blockingSendThatTimesOutIs504Failed() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let sent = try await client.post("/rpc/send", sendBody(destination: "nobody@example.com", blocking: true, timeout: 0.3))
            #expect(sent.status == .gatewayTimeout)
            #expect(sent.json?["status"] == "failed")
            #expect(sent.json?["error"]?.stringValue?.contains("timed out") == true)
            let id = try #require(sent.json?["id"]?.stringValue)
            let late = try await client.post("/rpc/reply/\(id)", ["result": 1])
            #expect(late.status == .conflict)
        }
    }

    @Test func appErrorGivesBlockingCaller200Failed() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            async let answered = respondOnce(client) { _ in ["error": "division by zero"] }
            let sent = try await client.post("/rpc/send", sendBody(blocking: true, timeout: 10))
            #expect(try await answered == 200)
            #expect(sent.status == .ok)
            #expect(sent.json?["status"] == "failed")
            #expect(sent.json?["error"] == "division by zero")
        }
    }

    @Test func idempotencyKeyRepeatsTheFirstRequest() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let first = try await client.post("/rpc/send", sendBody(), headers: [.init("Idempotency-Key")!: "order-17"])
            let second = try await client.post("/rpc/send", sendBody(), headers: [.init("Idempotency-Key")!: "order-17"])
            #expect(first.json?["id"] != nil)
            #expect(first.json?["id"] == second.json?["id"])
            #expect(second.headers[.init("Idempotent-Replay")!] == "true")
            let inbox = try await client.get("/rpc/inbox/calculator?destination=bob@example.com&max=10")
            #expect(inbox.json?["requests"]?.arrayValue?.count == 1)
        }
    }

    @Test func broadcastCreatesOneRequestPerDestinationInOrder() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let destinations = ["alice", "bob", "carol"].map { "syft://\($0)@example.com/app_data/notifier/rpc/notify" }
            let sent = try await client.post("/rpc/broadcast", ["func_name": "notify", "params": ["message": "hi"], "destinations": .array(destinations.map(JSONValue.string))])
            #expect(sent.status == .ok)
            #expect(sent.json?["broadcast_id"]?.stringValue != nil)
            let ids = (sent.json?["request_ids"]?.arrayValue ?? []).compactMap { $0.stringValue }
            #expect(ids.count == 3)
            for (index, name) in ["alice", "bob", "carol"].enumerated() {
                let status = try await client.get("/rpc/status/\(ids[index])")
                #expect(status.json?["destination"]?.stringValue == "\(name)@example.com")
                #expect(status.json?["app_name"] == "notifier")
                #expect(status.json?["func_name"] == "notify")
            }
            let inbox = try await client.get("/rpc/inbox/notifier?destination=bob@example.com")
            #expect(inbox.json?["requests"]?.arrayValue?.first?["endpoint"] == .string(destinations[1]))
        }
    }

    @Test func malformedBroadcastURLRejectsEverything() async throws {
        try await withProxy { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let sent = try await client.post("/rpc/broadcast", ["func_name": "notify", "destinations": ["syft://a@x.com/app_data/n/rpc/f", "syft://nope/app_data/n/rpc/f"]])
            #expect(sent.status == .unprocessableContent)
            let detail = try #require(sent.json?["detail"]?.arrayValue?.first)
            #expect(detail["loc"] == ["body", "destinations", 1])
            let stats = try await environment.store.stats()
            #expect(stats.queuedForPull == 0)
        }
    }

    @Test func metricsCountAcceptedRequests() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            func count() async throws -> Int {
                let text = String(buffer: try await client.get("/metrics").body)
                let line = text.split(separator: "\n").first { $0.hasPrefix("rpc_requests_total{app_name=\"calculator\",func_name=\"add\",status=\"accepted\"}") }
                return line.flatMap { Int($0.split(separator: " ").last ?? "") } ?? 0
            }
            #expect(try await count() == 0)
            _ = try await client.post("/rpc/send", sendBody())
            #expect(try await count() == 1)
            _ = try await client.post("/rpc/send", sendBody())
            #expect(try await count() == 2)
        }
    }
}
