import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// API keys, ownership and rate limits on one replica (the cluster suite checks them across replicas).
@Suite struct SecurityRouteTests {
    static let keys = "alice-key-0001=alice@example.com,bob-key-0002=bob@example.com,eve-key-0003=eve@example.com"
    let alice = "alice-key-0001"
    let bob = "bob-key-0002"
    let eve = "eve-key-0003"

    @Test func rpcRoutesNeedAKnownKeyButProbesDoNot() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let missing = try await client.post("/rpc/send", sendBody())
            #expect(missing.status == .unauthorized)
            #expect(missing.json?["detail"]?.stringValue?.contains("X-API-Key") == true)
            let unknown = try await client.post("/rpc/send", sendBody(), key: "not-a-real-key")
            #expect(unknown.status == .unauthorized)
            #expect(unknown.json?["detail"]?.stringValue?.contains("unknown API key") == true)
            #expect(unknown.json?["detail"]?.stringValue?.contains("not-a-real-key") == false)
            for path in ["/", "/health", "/ready", "/metrics", "/openapi.json"] {
                #expect(try await client.get(path).status == .ok, "\(path)")
            }
            let sent = try await client.post("/rpc/send", sendBody(), key: alice)
            #expect(sent.status == .ok)
            #expect(sent.json?["sender"] == "alice@example.com")
        }
    }

    @Test func onlySenderAndDestinationReadAStatus() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody(destination: "bob@example.com"), key: alice).json?["id"]?.stringValue)
            #expect(try await client.get("/rpc/status/\(id)", key: alice).status == .ok)
            #expect(try await client.get("/rpc/status/\(id)", key: bob).status == .ok)
            let snooped = try await client.get("/rpc/status/\(id)", key: eve)
            #expect(snooped.status == .forbidden)
            #expect(snooped.json?["detail"]?.stringValue?.contains("neither the sender nor the destination") == true)
        }
    }

    @Test func onlyTheDestinationLeasesRegistersAndAnswers() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody(destination: "bob@example.com"), key: alice).json?["id"]?.stringValue)
            #expect(try await client.get("/rpc/inbox/calculator?destination=bob@example.com", key: eve).status == .forbidden)
            #expect(try await client.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "http://127.0.0.1:9/rpc"], key: eve).status == .forbidden)
            #expect(try await client.post("/rpc/reply/\(id)", ["result": "forged"], key: eve).status == .forbidden)
            #expect(try await client.post("/rpc/reply/\(id)", ["result": "forged"], key: alice).status == .forbidden)
            let leased = try await client.get("/rpc/inbox/calculator?destination=bob@example.com", key: bob)
            #expect(leased.json?["requests"]?.arrayValue?.first?["sender"] == "alice@example.com")
            #expect(try await client.post("/rpc/reply/\(id)", ["result": 8], key: bob).status == .ok)
            #expect(try await client.get("/rpc/status/\(id)", key: alice).json?["result"] == 8)
        }
    }

    @Test func firstPublisherOwnsTheSchema() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            #expect(try await client.put("/rpc/schema/calculator", ["functions": [:]], key: bob).status == .ok)
            let taken = try await client.put("/rpc/schema/calculator", ["functions": ["evil": [:]]], key: eve)
            #expect(taken.status == .forbidden)
            #expect(taken.json?["detail"]?.stringValue?.contains("bob@example.com") == true)
            #expect(try await client.get("/rpc/schema/calculator", key: eve).json?["functions"] == [:])
        }
    }

    @Test func rateLimitAnswers429WithRetryAfterAndCountsBroadcastDestinations() async throws {
        try await withProxy({ $0.apiKeys = Self.keys; $0.rateLimit = 3 }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let first = try await client.post("/rpc/send", sendBody(), key: alice)
            #expect(first.headers[.init("X-RateLimit-Limit")!] == "3")
            #expect(first.headers[.init("X-RateLimit-Remaining")!] == "2")
            let broadcast = try await client.post("/rpc/broadcast", ["func_name": "f", "destinations": ["syft://a@x.com/app_data/n/rpc/f", "syft://b@x.com/app_data/n/rpc/f"]], key: alice)
            #expect(broadcast.status == .ok)
            let limited = try await client.post("/rpc/send", sendBody(), key: alice)
            #expect(limited.status == .tooManyRequests)
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect(retryAfter >= 1 && retryAfter <= 60)
            // Budgets are per identity.
            #expect(try await client.post("/rpc/send", sendBody(), key: bob).status == .ok)
            let tooBig = try await client.post("/rpc/broadcast", ["func_name": "f", "destinations": .array((0..<4).map { .string("syft://u\($0)@x.com/app_data/n/rpc/f") })], key: bob)
            #expect(tooBig.status == .tooManyRequests)
            #expect(tooBig.json?["detail"]?.stringValue?.contains("split it") == true)
        }
    }

    @Test func malformedKeyConfigurationIsRejected() {
        #expect(throws: ConfigurationError.self) { try APIKeys(parsing: "no-equals-sign", source: "test") }
        #expect(throws: ConfigurationError.self) { try APIKeys(parsing: "short=a@b.c", source: "test") }
        #expect(throws: ConfigurationError.self) { try APIKeys(parsing: "long-enough-key=not-an-identity", source: "test") }
        #expect(throws: ConfigurationError.self) { try APIKeys(parsing: "long-enough-key=a@b.c,long-enough-key=d@e.f", source: "test") }
        let keys = try? APIKeys(parsing: "# comment\nlong-enough-key = a@b.c\n\nother-long-key=d@e.f", source: "test")
        #expect(keys?.identities == ["long-enough-key": "a@b.c", "other-long-key": "d@e.f"])
    }
}
