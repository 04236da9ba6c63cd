import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// A blocking caller's 504 is decided by the store's clock and always reports the timeout.
@Suite struct TimeoutRouteTests {
    @Test func recordOutlivesTheTTLWhileItsRequestWaits() async throws {
        try await withProxy({ $0.requestTTL = 2 }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            async let blocking = client.post("/rpc/send", sendBody(destination: "nobody@example.com", blocking: true, timeout: 4))
            let inbox = try await client.get("/rpc/inbox/calculator?destination=nobody@example.com&max=1&wait=2")
            let id = try #require(inbox.json?["requests"]?.arrayValue?.first?["id"]?.stringValue)
            // At 3 s the TTL (2 s) has passed but the deadline (4 s) has not: the record must be there.
            try await Task.sleep(for: .seconds(3))
            let status = try await client.get("/rpc/status/\(id)")
            #expect(status.status == .ok)
            let sent = try await blocking
            #expect(sent.status == .gatewayTimeout)
            #expect(sent.json?["status"] == "failed")
            #expect(sent.json?["error"]?.stringValue?.contains("timed out") == true)
        }
    }

    @Test func storeClockBehindTheReplicaStillGives504Failed() async throws {
        try await withProxy(storeClock: { Timestamp.now() - 2 }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let sent = try await client.post("/rpc/send", sendBody(destination: "nobody@example.com", blocking: true, timeout: 1))
            #expect(sent.status == .gatewayTimeout)
            #expect(sent.json?["status"] == "failed")
            #expect(sent.json?["error"]?.stringValue?.contains("timed out") == true)
        }
    }
}
