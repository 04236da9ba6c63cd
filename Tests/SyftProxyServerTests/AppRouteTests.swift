import Foundation
import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

@Suite struct AppRouteTests {
    let calculator: JSONValue = [
        "app_name": "calculator",
        "functions": [
            "add": ["params": ["a": "number", "b": "number"], "returns": "number", "description": "Add two numbers"],
            "multiply": ["params": ["a": "number", "b": "number"], "returns": "number", "description": "Multiply two numbers"],
        ],
    ]

    @Test func schemaIsPublishedAndRead() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            #expect(try await client.get("/rpc/schema/calculator").status == .notFound)
            #expect(try await client.put("/rpc/schema/calculator", calculator).status == .ok)
            let schema = try await client.get("/rpc/schema/calculator")
            #expect(schema.status == .ok)
            #expect(schema.json == calculator)
        }
    }

    @Test func schemaBodiesAreValidated() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            #expect(try await client.put("/rpc/schema/calculator", ["app_name": "other", "functions": [:]]).status == .unprocessableContent)
            #expect(try await client.put("/rpc/schema/calculator", ["app_name": "calculator"]).status == .unprocessableContent)
            #expect(try await client.put("/rpc/schema/calculator", ["functions": [1]]).status == .unprocessableContent)
            #expect(try await client.put("/rpc/schema/calculator", ["functions": [:]]).status == .ok)
            #expect(try await client.get("/rpc/schema/calculator").json?["app_name"] == "calculator")
        }
    }

    @Test func endpointRegistrationValidatesAndRoutesToPush() async throws {
        try await withProxy { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let bad = try await client.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "ftp://x"])
            #expect(bad.status == .unprocessableContent)
            #expect(bad.json?["detail"]?.arrayValue?.first?["loc"] == ["body", "url"])
            let noDestination = try await client.put("/rpc/apps/calculator/endpoint", ["url": "http://127.0.0.1:9/rpc"])
            #expect(noDestination.status == .unprocessableContent)
            let viaQuery = try await client.put("/rpc/apps/calculator/endpoint?destination=bob@example.com", ["url": "http://127.0.0.1:9/rpc"])
            #expect(viaQuery.status == .ok)
            #expect(try await environment.store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == "http://127.0.0.1:9/rpc")
            let removed = try await client.execute(uri: "/rpc/apps/calculator/endpoint?destination=bob@example.com", method: .delete)
            #expect(removed.status == .ok)
            let again = try await client.execute(uri: "/rpc/apps/calculator/endpoint?destination=bob@example.com", method: .delete)
            #expect(again.status == .notFound)
        }
    }

    @Test func inboxQueryIsValidated() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            #expect(try await client.get("/rpc/inbox/calculator").status == .unprocessableContent)
            #expect(try await client.get("/rpc/inbox/calculator?destination=bob").status == .unprocessableContent)
            #expect(try await client.get("/rpc/inbox/calculator?destination=bob@example.com&max=0").status == .unprocessableContent)
            #expect(try await client.get("/rpc/inbox/calculator?destination=bob@example.com&max=101").status == .unprocessableContent)
            #expect(try await client.get("/rpc/inbox/calculator?destination=bob@example.com&wait=-1").status == .unprocessableContent)
            let empty = try await client.get("/rpc/inbox/calculator?destination=bob@example.com")
            #expect(empty.status == .ok)
            #expect(empty.json == ["requests": []])
        }
    }

    @Test func inboxLongPollWakesWhenARequestArrives() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            async let polled = client.get("/rpc/inbox/calculator?destination=bob@example.com&wait=10")
            try await Task.sleep(for: .milliseconds(100))
            let started = Timestamp.now()
            let id = try #require(try await client.post("/rpc/send", sendBody()).json?["id"]?.stringValue)
            let inbox = try await polled
            #expect(Timestamp.now() - started < 2)
            let item = try #require(inbox.json?["requests"]?.arrayValue?.first?.objectValue)
            #expect(item["id"] == .string(id))
            #expect(Set(item.keys).isSuperset(of: ["id", "app_name", "func_name", "params", "headers", "sender", "deadline", "attempts"]))
            #expect(item["attempts"] == 1)
            #expect(try await client.get("/rpc/status/\(id)").json?["status"] == "processing")
        }
    }

    @Test func unansweredLeaseIsRedeliveredThenFailsOnItsOwn() async throws {
        try await withProxy({ $0.leaseSeconds = 0.3; $0.maxAttempts = 2 }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody()).json?["id"]?.stringValue)
            let first = try await client.get("/rpc/inbox/calculator?destination=bob@example.com")
            #expect(first.json?["requests"]?.arrayValue?.first?["attempts"] == 1)
            let second = try await client.get("/rpc/inbox/calculator?destination=bob@example.com&wait=3")
            #expect(second.json?["requests"]?.arrayValue?.first?["id"] == .string(id))
            #expect(second.json?["requests"]?.arrayValue?.first?["attempts"] == 2)
            var final: JSONValue?
            for _ in 0..<100 {
                final = try await client.get("/rpc/status/\(id)").json
                if final?["status"] == "failed" { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(final?["status"] == "failed")
            #expect(final?["attempts"] == 2)
        }
    }

    @Test func operationsEndpoints() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let info = try await client.get("/")
            #expect(info.status == .ok)
            for key in ["name", "version", "replica_id", "store", "store_topology", "uptime_seconds"] { #expect(info.json?[key] != nil) }
            #expect(info.json?["store"] == "memory")
            #expect(info.json?["store_topology"] == ["mode": "embedded", "nodes": 1, "reachable_nodes": 1])
            #expect(info.json?["replica_id"] == "test-replica")
            #expect(try await client.get("/health").status == .ok)
            #expect(try await client.get("/ready").status == .ok)
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            #expect(String(buffer: metrics.body).contains("rpc_queue_depth"))
            let openapi = try await client.get("/openapi.json")
            #expect(openapi.status == .ok)
            #expect(openapi.json?["openapi"]?.stringValue?.hasPrefix("3.1") == true)
        }
    }

    @Test func percentEncodedPathSegmentsAreDecoded() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let published = try await client.put("/rpc/schema/my%20app", ["app_name": "my app", "functions": [:]])
            #expect(published.status == .ok)
            #expect(published.json?["app_name"] == "my app")
            #expect(try await client.get("/rpc/schema/caf%C3%A9").status == .notFound)
            _ = try await client.put("/rpc/schema/caf%C3%A9", ["functions": [:]])
            #expect(try await client.get("/rpc/schema/café".addingPercentEncodingForPath).json?["app_name"] == "café")
            let id = try #require(try await client.post("/rpc/send", sendBody(app: "my app")).json?["id"]?.stringValue)
            let inbox = try await client.get("/rpc/inbox/my%20app?destination=bob@example.com")
            #expect(inbox.json?["requests"]?.arrayValue?.first?["id"] == .string(id))
        }
    }
}

extension String {
    var addingPercentEncodingForPath: String { addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? self }
}
