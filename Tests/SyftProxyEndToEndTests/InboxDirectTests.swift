import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The local fast path for long-polling pull consumers: a send on the replica where a poll of
/// GET /rpc/inbox waits is leased to that poll in the create step and returned by it.
@Suite(.serialized) struct InboxDirectTests {
    @Test(arguments: WebSocketTests.Store.allCases)
    func aWaitingPollIsHandedTheSendDirectly(store: WebSocketTests.Store) async throws {
        let (proxy, stop) = try await WebSocketTests().launch(store)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        for n in 0..<5 {
            let poll = Task { try await http.get("/rpc/inbox/calculator?destination=bob@example.com&max=10&wait=10") }
            try await eventually("the poll is in flight") { try await inFlightRequests(http) > 0 }
            // Time for its first, empty lease, after which it waits as a local consumer.
            try await Task.sleep(for: .milliseconds(200))
            let call = Task { try await send(http, params: ["a": .int(n), "b": 2], blocking: true, timeout: 10) }
            let polled = try await poll.value
            #expect(polled.status == 200)
            let items = polled.json?["requests"]?.arrayValue ?? []
            #expect(items.count == 1)
            let item = try #require(items.first)
            #expect(item["attempts"]?.intValue == 1)
            let id = try #require(item["id"]?.stringValue)
            #expect(try await http.post("/rpc/reply/\(id)", ["result": .int(n + 2)]).status == 200)
            let answer = try await call.value
            #expect(answer.json?["status"] == "completed")
            #expect(answer.json?["result"]?.doubleValue == Double(n + 2))
        }
        let metrics = try await http.get("/metrics").text
        #expect(metrics.contains(#"rpc_direct_deliveries_total{mode="pull"} 5"#), "\(metrics.split(separator: "\n").filter { $0.contains("deliveries") })")
    }

    /// A poll that timed out takes nothing; the send it would have had stays queued for the
    /// next one.
    @Test(arguments: WebSocketTests.Store.allCases)
    func aPollThatEndedTakesNothing(store: WebSocketTests.Store) async throws {
        let (proxy, stop) = try await WebSocketTests().launch(store)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let empty = try await http.get("/rpc/inbox/calculator?destination=bob@example.com&wait=0.2")
        #expect(empty.json?["requests"]?.arrayValue?.isEmpty == true)
        let id = try #require(try await send(http, params: ["a": 1, "b": 1]).json?["id"]?.stringValue)
        #expect(try await http.get("/rpc/status/\(id)").json?["status"] == "pending")
        let polled = try await http.get("/rpc/inbox/calculator?destination=bob@example.com&max=10")
        #expect(polled.json?["requests"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [id])
        let metrics = try await http.get("/metrics").text
        #expect(!metrics.contains(#"rpc_direct_deliveries_total{mode="pull"}"#))
    }
}

/// Requests in flight on a replica's /rpc routes (its metrics' gauge): a parked poll is one.
func inFlightRequests(_ http: HTTP) async throws -> Int {
    let metrics = try await http.get("/metrics").text
    let line = metrics.split(separator: "\n").first { $0.hasPrefix("rpc_in_flight_requests ") }
    return (line?.split(separator: " ").last.flatMap { Double($0) }).map { Int($0) } ?? 0
}
