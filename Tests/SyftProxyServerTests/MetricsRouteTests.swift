import HummingbirdTesting
import SyftProxyCore
import SyftProxyServer
import Testing

/// The store-wide gauges /metrics shows are published by the sweeper, so a scrape costs the
/// store nothing; they follow the queues within a few sweep intervals.
@Suite struct MetricsRouteTests {
    static func gauge(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix) }.flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    /// Polls until `condition` holds or 5 s pass (the harness sweeps every 50 ms).
    static func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Timestamp.now() + 5
        while Timestamp.now() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return try await condition()
    }

    @Test func queueGaugesFollowTheQueues() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            for _ in 0..<3 { #expect(try await client.post("/rpc/send", sendBody()).status == .ok) }
            func metrics() async throws -> String { String(buffer: try await client.get("/metrics").body) }
            #expect(try await Self.eventually { Self.gauge(try await metrics(), "rpc_queue_depth{mode=\"pull\"}") == 3 })
            let inbox = try await client.get("/rpc/inbox/calculator?destination=bob@example.com&max=2")
            #expect(inbox.json?["requests"]?.arrayValue?.count == 2)
            #expect(try await Self.eventually {
                let text = try await metrics()
                return Self.gauge(text, "rpc_queue_depth{mode=\"pull\"}") == 1 && Self.gauge(text, "rpc_leased_requests") == 2
            })
        }
    }
}
