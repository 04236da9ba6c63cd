import Logging
import Synchronization
import SyftProxyCore
import SyftProxyRedis
@testable import SyftProxyRedisStore
import SyftProxyTestSupport
import Testing

/// The wake-ups the scripts publish and the ones the store's subscriber understands are one
/// vocabulary, and the store's own service is all a replica needs to hear them.
@Suite struct WakeupEventTests {
    static let keys = RedisKeys(shardCount: ShardLayout.defaultShardCount)

    @Test func parsingInvertsEncoding() {
        for event in [WakeupEvent.final(id: "a-b"), .queued(list: "{syft:0:7}:q:3:app:bob@example.com"), .pushQueued] {
            #expect(WakeupEvent(parsing: event.encoded) == event)
        }
        for unknown in ["", "d:", "q:", "x:1", "pp"] { #expect(WakeupEvent(parsing: unknown) == nil, "\(unknown)") }
    }

    /// Listens on every shard's events channel of a real redis-server while the store runs every
    /// transition that publishes: queued for pull, moved to push, queued for push, answered,
    /// timed out by the sweep. Each message must be one the store's parser accepts.
    @Test func everyEventTheScriptsPublishParses() async throws {
        let server = try await RedisServerProcess.launch()
        defer { server.stop() }
        let configuration = try RedisConfiguration(url: server.url)
        let heard = Mutex<(subscribed: Bool, payloads: [String])>((false, []))
        let (listener, events) = RedisSubscriber.makeStream(
            configuration: configuration, channels: Self.keys.shards.map(\.channel), sharded: true, logger: Logger(label: "wakeup-tests"))
        let listening = Task { await listener.run() }
        defer { listening.cancel() }
        let collecting = Task {
            for await event in events {
                switch event {
                case .subscribed: heard.withLock { $0.subscribed = true }
                case .message(_, let payload): heard.withLock { $0.payloads.append(String(decoding: payload, as: UTF8.self)) }
                }
            }
        }
        defer { collecting.cancel() }
        try await eventually("the listener subscribes") { heard.withLock { $0.subscribed } }

        try await withRunningStore(configuration) { store in
            let bob = newRequest(store, destination: "bob@example.com")
            let carol = newRequest(store, destination: "carol@example.com", timeout: 0.3)
            _ = try await store.create([bob], idempotencyKey: nil)
            _ = try await store.create([carol], idempotencyKey: nil)
            try await store.registerPushEndpoint(appName: "calculator", destination: "carol@example.com", url: "http://127.0.0.1:9/rpc")
            _ = try await store.create([newRequest(store, destination: "carol@example.com")], idempotencyKey: nil)
            _ = try await store.answer(id: bob.id, with: .result(.string("done")), leaseToken: nil)
            try await Task.sleep(for: .milliseconds(400))
            #expect(try await store.sweep().timedOut == 1)

            let bobName = QueueName(appName: "calculator", destination: "bob@example.com")
            let bobQueue = Self.keys.shards[Self.keys.shard(of: bobName)].queue(bobName)
            let expected: Set<WakeupEvent> = [.queued(list: bobQueue), .pushQueued, .final(id: bob.id), .final(id: carol.id)]
            // Stops early at a message the parser refuses, which the loop below then names.
            try await eventually("every transition's wake-up is heard") {
                let payloads = heard.withLock { $0.payloads }
                return payloads.contains { WakeupEvent(parsing: $0) == nil } || Set(payloads.compactMap { WakeupEvent(parsing: $0) }).isSuperset(of: expected)
            }
            for payload in heard.withLock({ $0.payloads }) {
                let event = try #require(WakeupEvent(parsing: payload), "the store cannot parse '\(payload)'")
                #expect(event.encoded == payload)
            }
        }
    }

    /// An answer recorded by another replica reaches a sender blocked on this one through the
    /// store's own subscriber, well before the re-check tick would have found it.
    @Test func theStoreServiceDeliversAnotherReplicasWakeup() async throws {
        let server = try await RedisServerProcess.launch()
        defer { server.stop() }
        let configuration = try RedisConfiguration(url: server.url)
        try await withRunningStore(configuration) { waiting in
            try await withRunningStore(configuration) { answering in
                let request = newRequest(waiting, timeout: 10)
                _ = try await waiting.create([request], idempotencyKey: nil)
                let started = ContinuousClock.now
                async let final = waiting.waitForFinal(id: request.id, until: Timestamp.now() + 10)
                try await Task.sleep(for: .milliseconds(100))
                _ = try await answering.answer(id: request.id, with: .result(.string("done")), leaseToken: nil)
                #expect(try await final?.state == .completed)
                #expect(ContinuousClock.now - started < .seconds(RedisStore.recheckInterval) - .milliseconds(500))
            }
        }
    }

    private func withRunningStore(_ configuration: RedisConfiguration, _ body: (RedisStore) async throws -> Void) async throws {
        let pool = RedisConnectionPool(configuration: configuration, connectionCount: 2, logger: Logger(label: "wakeup-tests"))
        let store = try RedisStore(deployment: pool, settings: StoreSettings())
        let service = Task { try await store.service.run() }
        defer { service.cancel() }
        try await eventually("the store connects and subscribes") { pool.connectedCount == pool.connectionCount && store.isSubscribed }
        try await body(store)
    }
}
