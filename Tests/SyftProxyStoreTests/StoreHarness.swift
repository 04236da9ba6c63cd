import Logging
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyRedis
import SyftProxyRedisStore
import SyftProxyTestSupport

/// The stores every conformance test runs against. Each test gets a fresh, empty store.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory
    case redis

    var testDescription: String { rawValue }

    func withStore<T: Sendable>(_ settings: StoreSettings = StoreSettings(), _ body: (any RPCStore) async throws -> T) async throws -> T {
        switch self {
        case .memory:
            return try await body(MemoryStore(settings: settings))
        case .redis:
            // A fresh redis-server per test keeps tests independent and parallel-safe.
            let server = try await RedisServerProcess.launch()
            defer { server.stop() }
            let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: server.url), connectionCount: 2, logger: Logger(label: "store-tests"))
            let store = RedisStore(pool: pool, settings: settings)
            let service = Task { try await store.service.run() }
            defer { service.cancel() }
            // Wake-up tests measure wake-ups, not connects.
            for _ in 0..<100 where pool.connectedCount < pool.connectionCount || !store.isSubscribed { try await Task.sleep(for: .milliseconds(20)) }
            return try await body(store)
        }
    }
}

func newRequest(app: String = "calculator", function: String = "add", destination: String = "bob@example.com",
                params: JSONObject = ["a": 1, "b": 2], timeout: Double = 30) -> NewRequest {
    NewRequest(id: randomID(), appName: app, funcName: function, destination: destination, sender: "alice@example.com",
               params: params, headers: ["X-Trace": "t"], timeout: timeout)
}

/// `key` as `scope`'s Idempotency-Key for `request` (and for any repeat of it).
func idempotencyKey(_ key: String, for request: NewRequest, scope: String = "identity:alice@example.com") -> IdempotencyKey {
    IdempotencyKey(key: key, scope: scope, request: request)
}

func randomID() -> String {
    (0..<4).map { _ in String(UInt32.random(in: 0...UInt32.max), radix: 16) }.joined(separator: "-")
}


import Testing
