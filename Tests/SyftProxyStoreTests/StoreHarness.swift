import Logging
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyRedis
import SyftProxyRedisStore
import SyftProxyTestSupport
import Testing

/// The stores every conformance test runs against. Each test gets a fresh, empty store.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case memory
    case redis
    /// A real three-master Redis Cluster, reached through one node's URL as a replica does.
    case redisCluster

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
            // Every conformance test on Redis also proves that no call mixes slots.
            let checked = SlotCheckingDeployment(pool)
            let store = try RedisStore(deployment: checked, settings: settings)
            let service = Task { try await store.service.run() }
            defer { service.cancel() }
            // Wake-up tests measure wake-ups, not connects.
            for _ in 0..<100 where pool.connectedCount < pool.connectionCount || !store.isSubscribed { try await Task.sleep(for: .milliseconds(20)) }
            let value = try await body(store)
            let violations = checked.violations
            #expect(violations.isEmpty, "calls that mixed slots: \(violations)")
            return value
        case .redisCluster:
            // One cluster for the whole run (starting one takes seconds); each test gets a key
            // base of its own, so no test sees another's keys.
            let cluster = try await SharedRedisCluster.instance.cluster()
            let deployment = RedisAutoDeployment(configuration: try RedisConfiguration(url: cluster.seedURL), logger: Logger(label: "store-tests"))
            let keyBase = "t\(UInt32.random(in: 0...UInt32.max))"
            let store = try RedisStore(deployment: deployment, settings: settings, keyBase: keyBase)
            let service = Task { try await store.service.run() }
            defer { service.cancel() }
            for _ in 0..<250 where deployment.topology.reachableNodes < 3 || !store.isSubscribed { try await Task.sleep(for: .milliseconds(20)) }
            return try await body(store)
        }
    }
}

/// The Redis Cluster the `.redisCluster` store kind shares, started on first use.
actor SharedRedisCluster {
    static let instance = SharedRedisCluster()
    private var running: RedisClusterProcess?

    func cluster() async throws -> RedisClusterProcess {
        if let running { return running }
        let launched = try await RedisClusterProcess.launch(masters: 3)
        running = launched
        return launched
    }
}

/// A request with an id `store` made for its app and destination, as the server does.
func newRequest(_ store: any RPCStore, app: String = "calculator", function: String = "add", destination: String = "bob@example.com",
                params: JSONObject = ["a": 1, "b": 2], timeout: Double = 30) -> NewRequest {
    NewRequest(id: store.makeRequestID(appName: app, destination: destination), appName: app, funcName: function, destination: destination, sender: "alice@example.com",
               params: params, headers: ["X-Trace": "t"], timeout: timeout)
}

/// `key` as `scope`'s Idempotency-Key for `request` (and for any repeat of it).
func idempotencyKey(_ key: String, for request: NewRequest, scope: String = "identity:alice@example.com") -> IdempotencyKey {
    IdempotencyKey(key: key, scope: scope, request: request)
}
