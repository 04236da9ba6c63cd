import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// A broadcast's params are stored once per shard in Redis (16 by default), however many
/// destinations it has.
@Suite struct BroadcastPayloadTests {
    static let destinationCount = 400
    static let paramsBytes = 600_000

    @Test func largeBroadcastStoresItsParamsOnce() async throws {
        let redis = try await RedisServerProcess.launch()
        defer { redis.stop() }
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_REDIS_URL": redis.url])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let blob = Self.incompressibleText(bytes: Self.paramsBytes)
        let destinations = (0..<Self.destinationCount).map { "syft://user\($0)@example.com/app_data/notifier/rpc/notify" }
        let before = try usedMemory(redis)

        let started = Date()
        let sent = try await http.post("/rpc/broadcast", ["func_name": "notify", "params": ["blob": .string(blob)], "destinations": .array(destinations.map(JSONValue.string))], timeout: 60)
        let elapsed = Date().timeIntervalSince(started)
        let grown = try usedMemory(redis) - before
        #expect(sent.status == 200, "\(sent.text.prefix(300))")
        #expect(elapsed < 20, "the broadcast took \(elapsed) s")
        // Once per shard reached (at most the default 16), not once per destination (400); the
        // connections' query buffers still hold some of the 16 create commands besides.
        #expect(grown < 40 * Self.paramsBytes, "Redis grew by \(grown) bytes")

        let ids = (sent.json?["request_ids"]?.arrayValue ?? []).compactMap(\.stringValue)
        #expect(ids.count == Self.destinationCount)
        for id in ids {
            #expect(try await http.get("/rpc/status/\(id)").status == 200)
        }
        for index in [0, Self.destinationCount / 2, Self.destinationCount - 1] {
            let inbox = try await http.get("/rpc/inbox/notifier?destination=user\(index)@example.com&max=1")
            let item = try #require(inbox.json?["requests"]?.arrayValue?.first)
            #expect(item["id"]?.stringValue == ids[index])
            #expect(item["params"]?["blob"]?.stringValue == blob)
        }
    }

    /// Random hex digits: repeated text would compress past the
    /// test client's decompression ratio limit when the proxy gzips the inbox answer.
    static func incompressibleText(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        var text = ""
        text.reserveCapacity(bytes + 16)
        while text.utf8.count < bytes { text += String(generator.next() as UInt64, radix: 16) }
        return String(text.prefix(bytes))
    }

    private func usedMemory(_ redis: RedisServerProcess) throws -> Int {
        let info = try redis.redisCLI(["INFO", "memory"])
        let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("used_memory:") }
        return try #require(line.flatMap { Int($0.dropFirst("used_memory:".count).trimmingCharacters(in: .whitespaces)) })
    }
}
