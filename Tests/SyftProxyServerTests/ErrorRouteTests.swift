import HummingbirdTesting
import NIOCore
import Testing
import SyftProxyCore
import SyftProxyServer

@Suite struct ErrorRouteTests {
    @Test func malformedJSONIs422() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let response = try await client.raw("/rpc/send", body: #"{"app_name": "x", "#)
            #expect(response.status == .unprocessableContent)
            #expect(response.json?["detail"]?.arrayValue?.first?["type"] == "json_invalid")
        }
    }

    @Test func nonObjectJSONIs422() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let response = try await client.raw("/rpc/send", body: "[1, 2, 3]")
            #expect(response.status == .unprocessableContent)
            #expect(response.json?["detail"]?.arrayValue?.first?["loc"] == ["body"])
        }
    }

    @Test func seedsInvalidRequestTestIs422NamingTheField() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let response = try await client.post("/rpc/send", ["app_name": "", "func_name": "test", "destination": "test@example.com", "params": [:]])
            #expect(response.status == .unprocessableContent)
            #expect(response.json?["detail"]?.arrayValue?.first?["loc"] == ["body", "app_name"])
        }
    }

    @Test func oversizedBodyIs413AndOversizedParams422() async throws {
        try await withProxy({ $0.maxParamsBytes = 100; $0.maxBodyBytesOverride = 400 }) { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let big = String(repeating: "x", count: 500)
            let tooLarge = try await client.post("/rpc/send", sendBody(params: ["blob": .string(big)]))
            #expect(tooLarge.status == .contentTooLarge)
            let bigParams = try await client.post("/rpc/send", sendBody(params: ["blob": .string(String(repeating: "x", count: 150))]))
            #expect(bigParams.status == .unprocessableContent)
            #expect(bigParams.json?["detail"]?.arrayValue?.first?["loc"] == ["body", "params"])
            #expect(try await environment.store.stats().queuedForPull == 0)
        }
    }

    @Test func unknownIDsAre404() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let status = try await client.get("/rpc/status/does-not-exist")
            #expect(status.status == .notFound)
            #expect(status.json?["detail"]?.stringValue?.contains("does-not-exist") == true)
            let reply = try await client.post("/rpc/reply/does-not-exist", ["result": 1])
            #expect(reply.status == .notFound)
            let route = try await client.get("/no/such/route")
            #expect(route.status == .notFound)
            #expect(route.json?["detail"]?.stringValue != nil)
        }
    }

    @Test func secondReplyIs409AndChangesNothing() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody()).json?["id"]?.stringValue)
            #expect(try await client.post("/rpc/reply/\(id)", ["result": 1]).status == .ok)
            let second = try await client.post("/rpc/reply/\(id)", ["error": "late"])
            #expect(second.status == .conflict)
            let status = try await client.get("/rpc/status/\(id)")
            #expect(status.json?["status"] == "completed")
            #expect(status.json?["result"] == 1)
        }
    }

    @Test func badReplyBodiesAre422() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody()).json?["id"]?.stringValue)
            #expect(try await client.post("/rpc/reply/\(id)", [:]).status == .unprocessableContent)
            #expect(try await client.post("/rpc/reply/\(id)", ["error": 5]).status == .unprocessableContent)
            #expect(try await client.get("/rpc/status/\(id)").json?["status"] == "pending")
        }
    }

    @Test func inFlightLimitAnswers503WithRetryAfter() async throws {
        try await withProxy({ $0.maxRequests = 1 }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            async let blocked = client.post("/rpc/send", sendBody(destination: "slow@example.com", blocking: true, timeout: 1))
            try await Task.sleep(for: .milliseconds(200))
            let refused = try await client.post("/rpc/send", sendBody())
            #expect(refused.status == .serviceUnavailable)
            #expect(refused.headers[.retryAfter] == "1")
            // One cap for the whole /rpc group, whichever route holds it; probes are outside it.
            #expect(try await client.get("/rpc/inbox/calculator?destination=bob@example.com").status == .serviceUnavailable)
            #expect(try await client.get("/rpc/status/unknown").status == .serviceUnavailable)
            #expect(try await client.get("/health").status == .ok)
            #expect(try await client.get("/metrics").status == .ok)
            #expect(try await blocked.status == .gatewayTimeout)
            #expect(try await client.post("/rpc/send", sendBody()).status == .ok)
        }
    }
}
