import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The local fast path against real `syft-proxy serve` processes: a send on the replica that
/// holds a socket for its pair is leased to that socket in the create step and handed over in
/// process, and is still stored like any lease.
@Suite(.serialized) struct WebSocketDirectTests {
    @Test(arguments: WebSocketTests.Store.allCases)
    func sendsOnTheSocketsReplicaAreHandedOverDirectly(store: WebSocketTests.Store) async throws {
        let (proxy, stop) = try await WebSocketTests().launch(store)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL, concurrency: 4)
        try await socketIsServing(http)
        let answering = Task {
            var answered = 0
            while !Task.isCancelled {
                let items = socket.items
                for item in items[answered...] { socket.answer(item) }
                answered = items.count
                try await Task.sleep(for: .milliseconds(2))
            }
        }
        defer { answering.cancel() }
        for n in 0..<20 {
            let answer = try await send(http, params: ["a": .int(n), "b": 1], blocking: true, timeout: 10)
            #expect(answer.json?["status"] == "completed")
            #expect(answer.json?["result"]?.doubleValue == Double(n + 1))
        }
        let metrics = try await http.get("/metrics").text
        #expect(metrics.contains(#"rpc_direct_deliveries_total{mode="websocket"} 20"#), "\(metrics.split(separator: "\n").filter { $0.contains("deliveries") })")
        #expect(metrics.contains(#"rpc_deliveries_total{mode="websocket"} 20"#))
        #expect(socket.items.allSatisfy { $0["attempts"]?.intValue == 1 })
    }

    /// Sends to a full socket queue up; the socket takes them, oldest first, as it frees. A
    /// non-blocking send always takes the queue: it answers `pending`, as the contract says.
    @Test func aFullSocketGetsTheRestFromItsQueueInOrder() async throws {
        let (proxy, stop) = try await WebSocketTests().launch(.redis)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL, concurrency: 2)
        try await socketIsServing(http)
        let calls = (0..<2).map { n in Task { try await send(http, params: ["a": .int(n), "b": 0], blocking: true, timeout: 20) } }
        try await socket.waitForItems(2)
        var queued: [String] = []
        for n in 2..<6 {
            let sent = try await send(http, params: ["a": .int(n), "b": 0])
            #expect(sent.json?["status"] == "pending")
            queued.append(try #require(sent.json?["id"]?.stringValue))
        }
        var answered = 0
        while answered < 6 {
            try await socket.waitForItems(answered + 1)
            try await Task.sleep(for: .milliseconds(100))
            let items = socket.items
            #expect(items.count - answered <= 2, "\(items.count - answered) unanswered items on a socket of concurrency 2")
            socket.answer(items[answered])
            answered += 1
        }
        #expect(Array(socket.items.compactMap { $0["id"]?.stringValue }.dropFirst(2)) == queued)
        for call in calls { #expect(try await call.value.json?["status"] == "completed") }
        let metrics = try await http.get("/metrics").text
        #expect(metrics.contains(#"rpc_direct_deliveries_total{mode="websocket"} 2"#))
        for id in queued { #expect(try await waitForStatus(http, id: id, until: isFinal)?["status"] == "completed") }
    }

    /// The replica holding a directly leased request dies with it: the lease's expiry delivers
    /// it again, to a socket on another replica, and its sender reads the answer there.
    @Test func aDirectLeaseOfAReplicaThatDiesIsDeliveredAgain() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: ["PROXY_LEASE_SECONDS": "2"])
        defer { cluster.stop() }
        let doomed = try await TestSocket.connect(cluster.replicas[0].baseURL)
        try await socketIsServing(cluster.http(0))
        // Blocking: the caller's replica is the one that dies, so the call itself is lost.
        let call = Task { try? await send(cluster.http(0), params: ["a": 40, "b": 2], blocking: true, timeout: 30) }
        defer { call.cancel() }
        try await doomed.waitForItems(1)
        let id = try #require(doomed.items.first?["id"]?.stringValue)
        let metrics = try await cluster.http(0).get("/metrics").text
        #expect(metrics.contains(#"rpc_direct_deliveries_total{mode="websocket"} 1"#))
        cluster.replicas[0].kill9()
        let survivor = try await TestSocket.connect(cluster.replicas[1].baseURL)
        try await survivor.waitForItems(1, within: 15)
        let item = try #require(survivor.items.first)
        #expect(item["id"]?.stringValue == id)
        #expect(item["attempts"]?.intValue == 2)
        survivor.answer(item)
        let status = try await waitForStatus(cluster.http(1), id: id, until: isFinal)
        #expect(status?["status"] == "completed")
        #expect(status?["result"]?.doubleValue == 42)
    }
}

/// The app's end of an upgrade opens before the replica's session starts: a send made in
/// between takes the queue. The open gauge counts a session once it takes sends directly.
func socketIsServing(_ http: HTTP) async throws {
    try await eventually("the replica counts the socket open") { try await http.get("/metrics").text.contains("rpc_websockets_open 1") }
}
