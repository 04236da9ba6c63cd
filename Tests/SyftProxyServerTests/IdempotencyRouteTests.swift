import Hummingbird
import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// Idempotency-Key on POST /rpc/send: scoped to the caller, bound to the request it first created.
@Suite struct IdempotencyRouteTests {
    static let key = HTTPFields.Element.Name("Idempotency-Key")!
    static let replay = HTTPFields.Element.Name("Idempotent-Replay")!

    @Test func sameKeyWithAnotherBodyIs422AndCreatesNothing() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let first = try await client.post("/rpc/send", sendBody(), headers: [Self.key: "order-18"])
            #expect(first.status == .ok)
            let other = try await client.post("/rpc/send", sendBody(params: ["a": 5, "b": 4]), headers: [Self.key: "order-18"])
            #expect(other.status == .unprocessableContent)
            let issue = try #require(other.json?["detail"]?.arrayValue?.first)
            #expect(issue["loc"] == ["header", "Idempotency-Key"])
            #expect(issue["msg"]?.stringValue?.contains("different request") == true)
            let inbox = try await client.get("/rpc/inbox/calculator?destination=bob@example.com&max=10")
            #expect(inbox.json?["requests"]?.arrayValue?.count == 1)
        }
    }

    @Test func blockingFlagDoesNotMakeARepeatADifferentRequest() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            var body = sendBody(timeout: 0.5).objectValue ?? [:]
            let first = try await client.post("/rpc/send", .object(body), headers: [Self.key: "order-19"])
            body["blocking"] = true
            let repeated = try await client.post("/rpc/send", .object(body), headers: [Self.key: "order-19"])
            #expect(repeated.json?["id"] == first.json?["id"])
            #expect(repeated.headers[Self.replay] == "true")
        }
    }

    @Test func keysOfDifferentCallersNeverMeet() async throws {
        try await withProxy({ $0.apiKeys = SecurityRouteTests.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let alice = try await client.post("/rpc/send", sendBody(), headers: [.init("X-API-Key")!: "alice-key-0001", Self.key: "shared-key"])
            let bob = try await client.post("/rpc/send", sendBody(), headers: [.init("X-API-Key")!: "bob-key-0002", Self.key: "shared-key"])
            #expect(alice.status == .ok && bob.status == .ok)
            #expect(bob.json?["id"] != alice.json?["id"])
            #expect(bob.json?["sender"] == "bob@example.com")
            #expect(bob.headers[Self.replay] == nil)
            let again = try await client.post("/rpc/send", sendBody(), headers: [.init("X-API-Key")!: "bob-key-0002", Self.key: "shared-key"])
            #expect(again.json?["id"] == bob.json?["id"])
            #expect(again.headers[Self.replay] == "true")
        }
    }
}
