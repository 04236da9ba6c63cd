import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// POST /rpc/release/{id}: a pull consumer hands a leased request back at once.
@Suite struct ReleaseRouteTests {
    let alice = "alice-key-0001"
    let bob = "bob-key-0002"

    @Test func theDestinationHandsBackItsCurrentLeaseOnly() async throws {
        try await withProxy({ $0.apiKeys = SecurityRouteTests.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody(destination: "bob@example.com"), key: alice).json?["id"]?.stringValue)
            let item = try #require(try await client.get("/rpc/inbox/calculator?destination=bob@example.com", key: bob).json?["requests"]?.arrayValue?.first)
            #expect(item["id"]?.stringValue == id)
            let lease = try #require(item["lease"]?.stringValue, "an inbox item names its lease")

            let notTheirs = try await client.post("/rpc/release/\(id)", ["lease": .string(lease)], key: alice)
            #expect(notTheirs.status == .forbidden)
            let stale = try await client.post("/rpc/release/\(id)", ["lease": .string(lease + "0")], key: bob)
            #expect(stale.status == .conflict)
            #expect(try await client.post("/rpc/release/\(id)", [:], key: bob).status == .unprocessableContent)
            #expect(try await client.post("/rpc/release/no-such-id", ["lease": "1"], key: bob).status == .notFound)

            let released = try await client.post("/rpc/release/\(id)", ["lease": .string(lease)], key: bob)
            #expect(released.status == .ok)
            #expect(released.json?["status"] == "pending")
            #expect(released.json?["attempts"] == 0, "a request handed back did not cost an attempt")
            // Handed back once; the same lease again changes nothing.
            #expect(try await client.post("/rpc/release/\(id)", ["lease": .string(lease)], key: bob).status == .conflict)
            let again = try #require(try await client.get("/rpc/inbox/calculator?destination=bob@example.com", key: bob).json?["requests"]?.arrayValue?.first)
            #expect(again["id"]?.stringValue == id)
            #expect(again["attempts"] == 1)
            #expect(again["lease"]?.stringValue != lease)
        }
    }
}
