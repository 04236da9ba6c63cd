import SyftProxyCore
import SyftProxyMemoryStore
import Testing

/// What only the embedded store can show: how it holds values in the process.
@Suite struct MemoryStoreTests {
    @Test func broadcastRecordsShareOneParamsStorage() async throws {
        let store = MemoryStore()
        let params: JSONObject = ["blob": .string(String(repeating: "x", count: 10_000))]
        let requests = (0..<50).map { newRequest(store, app: "notifier", destination: "user\($0)@example.com", params: params) }
        _ = try await store.create(requests, idempotencyKey: nil)
        var storages = Set<Int>()
        for request in requests {
            let record = try #require(try await store.record(id: request.id))
            storages.insert(record.params.members.withUnsafeBufferPointer { Int(bitPattern: $0.baseAddress) })
        }
        #expect(storages.count == 1)
    }
}
