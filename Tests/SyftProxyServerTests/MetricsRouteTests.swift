import HummingbirdTesting
import SyftProxyCore
import SyftProxyServer
import SyftProxyTestSupport
import Testing

/// The store-wide gauges /metrics shows are published by the sweeper, so a scrape costs the
/// store nothing; they follow the queues within a few sweep intervals.
@Suite struct MetricsRouteTests {
    static func gauge(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test func queueGaugesFollowTheQueues() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            for _ in 0..<3 { #expect(try await client.post("/rpc/send", sendBody()).status == .ok) }
            func metrics() async throws -> String { String(buffer: try await client.get("/metrics").body) }
            try await eventually("the pull gauge shows 3 queued") { Self.gauge(try await metrics(), "rpc_queue_depth{mode=\"pull\"}") == 3 }
            let inbox = try await client.get("/rpc/inbox/calculator?destination=bob@example.com&max=2")
            #expect(inbox.json?["requests"]?.arrayValue?.count == 2)
            try await eventually("the gauges show 1 queued and 2 leased") {
                let text = try await metrics()
                return Self.gauge(text, "rpc_queue_depth{mode=\"pull\"}") == 1 && Self.gauge(text, "rpc_leased_requests") == 2
            }
        }
    }
}
