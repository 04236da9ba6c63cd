import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// GET /rpc/connect/{app_name} against real `syft-proxy serve` processes on loopback.
@Suite(.serialized) struct WebSocketTests {
    enum Store: String, CaseIterable, CustomTestStringConvertible {
        case memory, redis
        var testDescription: String { rawValue }
    }

    /// A proxy on the store, and what to stop after the test.
    func launch(_ store: Store, environment: [String: String] = [:]) async throws -> (proxy: ProxyProcess, stop: @Sendable () -> Void) {
        switch store {
        case .memory:
            let proxy = try await ProxyProcess.launch(environment: environment)
            return (proxy, { proxy.stop() })
        case .redis:
            let redis = try await RedisServerProcess.launch()
            do {
                var env = environment
                env["PROXY_REDIS_URL"] = redis.url
                let proxy = try await ProxyProcess.launch(environment: env)
                return (proxy, { proxy.stop(); redis.stop() })
            } catch {
                redis.stop()
                throw error
            }
        }
    }

    @Test(arguments: Store.allCases)
    func roundTrip(store: Store) async throws {
        let (proxy, stop) = try await launch(store)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL)
        let call = Task { try await send(http, params: ["a": 2, "b": 3], blocking: true, timeout: 10) }
        try await socket.waitForItems(1)
        let item = try #require(socket.items.first)
        #expect(item["app_name"] == "calculator")
        #expect(item["func_name"] == "add")
        #expect(item["destination"] == nil)
        #expect(item["attempts"]?.intValue == 1)
        #expect(item["deadline"]?.stringValue?.hasSuffix("Z") == true)
        socket.answer(item)
        let answer = try await call.value
        #expect(answer.status == 200)
        #expect(answer.json?["status"] == "completed")
        #expect(answer.json?["result"]?.doubleValue == 5)
        let metrics = try await http.get("/metrics").text
        #expect(metrics.contains("rpc_websockets_open 1"))
        #expect(metrics.contains(#"rpc_deliveries_total{mode="websocket"} 1"#))
        await socket.close()
        try await eventually("the socket counted closed") { try await http.get("/metrics").text.contains("rpc_websockets_open 0") }
    }

    @Test func neverMoreThanConcurrencyUnansweredItems() async throws {
        let (proxy, stop) = try await launch(.memory)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        var ids: [String] = []
        for n in 0..<10 { ids.append(try #require(try await send(http, params: ["a": .int(n), "b": 0]).json?["id"]?.stringValue)) }
        let socket = try await TestSocket.connect(proxy.baseURL, concurrency: 2)
        var answered = 0
        while answered < 10 {
            try await socket.waitForItems(answered + 1)
            // Give the proxy the chance to overrun before looking.
            try await Task.sleep(for: .milliseconds(150))
            let items = socket.items
            #expect(items.count - answered <= 2, "\(items.count - answered) unanswered items on a socket of concurrency 2")
            if answered < 8 { #expect(items.count - answered == 2) }
            socket.answer(items[answered])
            answered += 1
        }
        // First in, first out, as the inbox.
        #expect(socket.items.compactMap { $0["id"]?.stringValue } == ids)
        for id in ids {
            let status = try await waitForStatus(http, id: id, until: isFinal)
            #expect(status?["status"] == "completed")
        }
    }

    @Test(arguments: Store.allCases)
    func aDroppedSocketsItemsGoBackAtOnceToTheNextSocket(store: Store) async throws {
        // A 60 s lease: anything redelivered within the test came back through the hand-back.
        let (proxy, stop) = try await launch(store, environment: ["PROXY_LEASE_SECONDS": "60"])
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let first = try await TestSocket.connect(proxy.baseURL, concurrency: 3)
        var ids: [String] = []
        for n in 0..<3 { ids.append(try #require(try await send(http, params: ["a": .int(n), "b": 1]).json?["id"]?.stringValue)) }
        try await first.waitForItems(3)
        #expect(first.items.allSatisfy { $0["attempts"]?.intValue == 1 })
        await first.close()
        let second = try await TestSocket.connect(proxy.baseURL, concurrency: 3)
        try await second.waitForItems(3, within: 5)
        #expect(Set(second.items.compactMap { $0["id"]?.stringValue }) == Set(ids))
        // The dropped delivery counts, as an expired lease would.
        #expect(second.items.allSatisfy { $0["attempts"]?.intValue == 2 })
        for item in second.items { second.answer(item) }
        for id in ids {
            #expect(try await waitForStatus(http, id: id, until: isFinal)?["status"] == "completed")
        }
    }

    @Test func aSenderOnOneReplicaReachesASocketOnAnother() async throws {
        let cluster = try await Cluster.launch(replicas: 2)
        defer { cluster.stop() }
        let socket = try await TestSocket.connect(cluster.replicas[1].baseURL)
        let call = Task { try await send(cluster.http(0), params: ["a": 20, "b": 22], blocking: true, timeout: 10) }
        try await socket.waitForItems(1)
        socket.answer(try #require(socket.items.first))
        let answer = try await call.value
        #expect(answer.json?["status"] == "completed")
        #expect(answer.json?["result"]?.doubleValue == 42)
    }

    @Test func apiKeysAuthoriseTheDestinationOnly() async throws {
        let keys = "bob-key-0001=bob@example.com,carol-key-001=carol@example.com"
        let (proxy, stop) = try await launch(.memory, environment: ["PROXY_API_KEYS": keys])
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let path = "/rpc/connect/calculator?destination=bob@example.com"
        #expect(try await Self.upgradeAttempt(http, path).status == 401)
        #expect(try await Self.upgradeAttempt(http, path, key: "nobody-key-01").status == 401)
        let forbidden = try await Self.upgradeAttempt(http, path, key: "carol-key-001")
        #expect(forbidden.status == 403)
        #expect(forbidden.json?["detail"]?.stringValue?.contains("only bob@example.com may") == true)
        await #expect(throws: (any Error).self) { try await TestSocket.connect(proxy.baseURL, apiKey: "carol-key-001") }

        let socket = try await TestSocket.connect(proxy.baseURL, apiKey: "bob-key-0001")
        let call = Task {
            try await http.post("/rpc/send", ["app_name": "calculator", "func_name": "add", "destination": "bob@example.com", "params": ["a": 1, "b": 1], "blocking": true, "timeout": 10],
                                headers: [("X-API-Key", "carol-key-001")])
        }
        try await socket.waitForItems(1)
        let item = try #require(socket.items.first)
        #expect(item["sender"] == "carol@example.com")
        socket.answer(item)
        #expect(try await call.value.json?["result"]?.doubleValue == 2)
    }

    @Test func badParametersAre422BeforeTheUpgrade() async throws {
        let (proxy, stop) = try await launch(.memory)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        for (query, field) in [("destination=bob@example.com&concurrency=0", "concurrency"), ("destination=bob@example.com&concurrency=101", "concurrency"),
                               ("destination=bob@example.com&concurrency=two", "concurrency"), ("destination=bob", "destination"), ("", "destination")] {
            let answer = try await Self.upgradeAttempt(http, "/rpc/connect/calculator?\(query)")
            #expect(answer.status == 422, "\(query)")
            let loc = answer.json?["detail"]?.arrayValue?.first?["loc"]
            #expect(loc == ["query", .string(field)], "\(query)")
        }
        // Without the upgrade headers the route says what it wants.
        let plain = try await http.get("/rpc/connect/calculator?destination=bob@example.com")
        #expect(plain.status == 426)
    }

    @Test func malformedFramesGet422AndTheSocketStaysOpen() async throws {
        let (proxy, stop) = try await launch(.memory)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL)
        socket.sendText("not json")
        socket.sendText("[1, 2]")
        socket.sendJSON(["result": 1])
        socket.sendJSON(["id": "some-id"])
        socket.sendJSON(["id": "some-id", "error": 5])
        socket.sendBinary([1, 2, 3])
        try await socket.waitForRefusals(6)
        #expect(socket.refusals.allSatisfy { $0["status"]?.intValue == 422 && $0["detail"]?.stringValue?.isEmpty == false })
        // Still open: the next answer goes through.
        let call = Task { try await send(http, params: ["a": 4, "b": 4], blocking: true, timeout: 10) }
        try await socket.waitForItems(1)
        socket.answer(try #require(socket.items.first))
        #expect(try await call.value.json?["result"]?.doubleValue == 8)
    }

    @Test func unknownIdsAre404AndSecondAnswers409() async throws {
        let (proxy, stop) = try await launch(.memory)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL)
        socket.sendJSON(["id": "no-such-request", "result": 1])
        try await socket.waitForRefusals(1)
        #expect(socket.refusals.first?["status"]?.intValue == 404)
        #expect(socket.refusals.first?["id"] == "no-such-request")

        let id = try #require(try await send(http).json?["id"]?.stringValue)
        try await socket.waitForItems(1)
        socket.answer(try #require(socket.items.first))
        socket.sendJSON(["id": .string(id), "result": 99])
        try await socket.waitForRefusals(2)
        #expect(socket.refusals.last?["status"]?.intValue == 409)
        #expect(socket.refusals.last?["id"] == .string(id))
        let status = try await http.get("/rpc/status/\(id)")
        #expect(status.json?["result"]?.doubleValue == 3)
    }

    @Test func aSlowHandlerOnALiveSocketKeepsItsLease() async throws {
        // Leases of 1 s, renewed every third of that while the socket lives.
        let (proxy, stop) = try await launch(.memory, environment: ["PROXY_LEASE_SECONDS": "1"])
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL)
        let id = try #require(try await send(http).json?["id"]?.stringValue)
        try await socket.waitForItems(1)
        try await Task.sleep(for: .seconds(3))
        #expect(socket.items.count == 1, "delivered again while the socket held it")
        #expect(try await http.get("/rpc/status/\(id)").json?["attempts"]?.intValue == 1)
        socket.answer(try #require(socket.items.first))
        #expect(try await waitForStatus(http, id: id, until: isFinal)?["status"] == "completed")
    }

    @Test func shutdownHandsItemsBackWithoutCountingTheAttempt() async throws {
        let cluster = try await Cluster.launch(replicas: 2, environment: ["PROXY_LEASE_SECONDS": "60"])
        defer { cluster.stop() }
        let socket = try await TestSocket.connect(cluster.replicas[1].baseURL)
        let id = try #require(try await send(cluster.http(0)).json?["id"]?.stringValue)
        try await socket.waitForItems(1)
        cluster.replicas[1].stop()
        // Going away, after the items were handed back.
        #expect(try await socket.closeFrame()?.closeCode == .goingAway)
        let status = try await waitForStatus(cluster.http(0), id: id, within: 10) { $0?["status"] == "pending" }
        #expect(status?["status"] == "pending")
        #expect(status?["attempts"]?.intValue == 0)
    }

    /// A socket and a pull consumer of one pair share its queue: what the full socket cannot
    /// take, the inbox hands out.
    @Test func aSocketAndAPullConsumerShareOnePair() async throws {
        let (proxy, stop) = try await launch(.redis)
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL, concurrency: 1)
        let first = try #require(try await send(http, params: ["a": 1, "b": 1]).json?["id"]?.stringValue)
        try await socket.waitForItems(1)
        let second = try #require(try await send(http, params: ["a": 2, "b": 2]).json?["id"]?.stringValue)
        let inbox = try await http.get("/rpc/inbox/calculator?destination=bob@example.com&wait=5")
        #expect(inbox.json?["requests"]?.arrayValue?.compactMap { $0["id"]?.stringValue } == [second])
        _ = try await http.post("/rpc/reply/\(second)", ["result": 4])
        socket.answer(try #require(socket.items.first))
        #expect(socket.items.compactMap { $0["id"]?.stringValue } == [first])
        for id in [first, second] { #expect(try await waitForStatus(http, id: id, until: isFinal)?["status"] == "completed") }
    }

    /// A pair served by a socket is never routed to SyftBox, though its app folder exists;
    /// the same pair without a consumer is.
    @Test func aPairWithASocketStaysOffSyftBox() async throws {
        let directory = NSTemporaryDirectory() + "syftbox-ws-" + UUID().uuidString.lowercased()
        for destination in ["bob@example.com", "carol@example.com"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/datasites/\(destination)/app_data/calculator/rpc", withIntermediateDirectories: true)
        }
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (proxy, stop) = try await launch(.memory, environment: ["PROXY_SYFTBOX_DATA_DIR": directory, "PROXY_SYFTBOX_EMAIL": "proxy@example.com"])
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let socket = try await TestSocket.connect(proxy.baseURL)
        let call = Task { try await send(http, blocking: true, timeout: 10) }
        try await socket.waitForItems(1)
        socket.answer(try #require(socket.items.first))
        #expect(try await call.value.json?["status"] == "completed")
        #expect(try await http.get("/rpc/apps/calculator/endpoint?destination=bob@example.com").json?["transport"] == "pull")
        _ = try await send(http, destination: "carol@example.com")
        #expect(try await http.get("/rpc/apps/calculator/endpoint?destination=carol@example.com").json?["transport"] == "syftbox")
    }

    /// A client that upgrades, takes an item and then never reads again sends no pong: the
    /// server closes it after a ping period or two and hands the item back, counted.
    /// An app sends an answer larger than PROXY_MAX_BODY_BYTES: the socket is closed (1009)
    /// rather than buffering it, and what it held goes back, counted, to the next socket.
    @Test func aFrameOverTheBodyLimitClosesTheSocketAndItsItemsGoBack() async throws {
        let (proxy, stop) = try await launch(.memory, environment: ["PROXY_LEASE_SECONDS": "60", "PROXY_MAX_PARAMS_BYTES": "1000", "PROXY_MAX_BODY_BYTES": "4096"])
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let first = try await TestSocket.connect(proxy.baseURL, concurrency: 1)
        let id = try #require(try await send(http).json?["id"]?.stringValue)
        try await first.waitForItems(1)
        first.sendJSON(["id": .string(id), "result": .string(String(repeating: "x", count: 64 * 1024))])
        let close = try await first.closeFrame()
        #expect(close?.closeCode == .messageTooLarge, "closed with \(String(describing: close))")
        let second = try await TestSocket.connect(proxy.baseURL, concurrency: 1)
        try await second.waitForItems(1, within: 5)
        #expect(second.items.first?["id"] == .string(id))
        #expect(second.items.first?["attempts"] == 2)
        second.answer(try #require(second.items.first))
        #expect(try await waitForStatus(http, id: id, until: isFinal)?["status"] == "completed")
    }

    @Test func aSocketThatStopsAnsweringPingsIsClosedAndItsItemsGoBack() async throws {
        let (proxy, stop) = try await launch(.memory, environment: ["PROXY_LEASE_SECONDS": "300"])
        defer { stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let id = try #require(try await send(http, timeout: 120).json?["id"]?.stringValue)
        let connection = try RawConnection(port: proxy.port)
        try connection.send("GET /rpc/connect/calculator?destination=bob@example.com HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n")
        try await eventually("the silent socket leased the request") { try await http.get("/rpc/status/\(id)").json?["status"] == "processing" }
        let leasedAt = Date()
        let bound = Double(2 * WebSocketLimits.pingSeconds) + 10
        try await eventually("the request went back after the pings went unanswered", within: bound) {
            try await http.get("/rpc/status/\(id)").json?["status"] == "pending"
        }
        #expect(Date().timeIntervalSince(leasedAt) >= Double(WebSocketLimits.pingSeconds) - 1)
        #expect(try await http.get("/rpc/status/\(id)").json?["attempts"]?.intValue == 1)
        withExtendedLifetime(connection) {}
    }

    /// A WebSocket upgrade request on a raw connection (an HTTP client would not send one),
    /// to read the answer to a refused one: its status and JSON body.
    static func upgradeAttempt(_ http: HTTP, _ path: String, key: String? = nil) async throws -> (status: Int, json: JSONValue?) {
        guard let port = URL(string: http.baseURL)?.port else { throw TestFailure("no port in \(http.baseURL)") }
        let connection = try RawConnection(port: port)
        var head = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        if let key { head += "X-API-Key: \(key)\r\n" }
        try connection.send(head + "\r\n")
        let answer = try connection.readAll(timeout: 10)
        let status = answer.split(separator: " ", maxSplits: 2).dropFirst().first.flatMap { Int($0) } ?? 0
        let body = answer.components(separatedBy: "\r\n\r\n").dropFirst().joined(separator: "\r\n\r\n")
        return (status, try? JSONParser.parse(body))
    }
}
