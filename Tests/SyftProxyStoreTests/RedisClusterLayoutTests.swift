import Logging
import SyftProxyCore
import SyftProxyRedis
@testable import SyftProxyRedisStore
import SyftProxyTestSupport
import Testing

/// The same layout on a real 3-master Redis Cluster, through a deployment that sends each call
/// to the master owning its slot: state lands on every master, and no script touches a key of
/// another slot (the cluster would refuse it: CROSSSLOT, or a script's non-local key).
@Suite(.serialized) struct RedisClusterLayoutTests {
    struct Replica {
        let deployment: StaticClusterDeployment
        let store: RedisStore
    }

    static func withCluster(replicas: Int = 1, _ body: (RedisClusterProcess, [Replica]) async throws -> Void) async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3)
        defer { cluster.stop() }
        var running: [Replica] = []
        var services: [Task<Void, any Error>] = []
        defer { for service in services { service.cancel() } }
        for _ in 0..<replicas {
            let deployment = try StaticClusterDeployment(cluster: cluster, logger: Logger(label: "cluster-layout-tests"))
            let store = try RedisStore(deployment: deployment, settings: StoreSettings(requestTTL: 60, maximumAttempts: 3, leaseSeconds: 0.5))
            services.append(Task { try await store.service.run() })
            try await eventually("the store reaches every master and subscribes") { deployment.connected && store.isSubscribed }
            running.append(Replica(deployment: deployment, store: store))
        }
        try await body(cluster, running)
    }

    @Test func requestsLandOnEveryMasterAndRoundTripOnEach() async throws {
        try await Self.withCluster(replicas: 2) { cluster, replicas in
            let sender = replicas[0].store, consumer = replicas[1].store
            let keys = sender.keys
            let deployment = replicas[0].deployment
            // Every master owns shards.
            #expect(Set(keys.shards.map { deployment.node(of: $0.tag) }) == [0, 1, 2])

            let destinations = (0..<300).map { "user\($0)@example.com" }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for slice in stride(from: 0, to: 300, by: 50) {
                    group.addTask {
                        for destination in destinations[slice..<slice + 50] {
                            _ = try await sender.create([newRequest(sender, destination: destination)], idempotencyKey: nil)
                        }
                    }
                }
                try await group.waitForAll()
            }
            for port in deployment.ports {
                let count = Int(try cluster.server(port: port)?.redisCLI(["DBSIZE"]).trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0
                #expect(count > 50, "master \(port) holds \(count) keys")
            }

            // A round trip on each master: created through one replica, leased and answered
            // through the other, the blocked sender woken over that master's shard channel.
            for node in 0..<3 {
                let destination = try #require(destinations.first { destination in
                    let name = QueueName(appName: "calculator", destination: destination)
                    return deployment.node(of: keys.shards[keys.shard(of: name)].tag) == node
                })
                let request = newRequest(sender, app: "roundtrip", destination: destination)
                _ = try await sender.create([request], idempotencyKey: nil)
                async let final = sender.waitForFinal(id: request.id, until: Timestamp.now() + 10)
                let leased = try await consumer.leaseInbox(appName: "roundtrip", destination: destination, max: 5)
                #expect(leased.map(\.id) == [request.id])
                #expect(try await consumer.answer(id: request.id, with: .result(.int(node))) != .notFound)
                let record = try await final
                #expect(record?.state == .completed && record?.result == .int(node))
            }
        }
    }

    /// The conformance operations, each against the master of its slot: a CROSSSLOT or
    /// non-local-key refusal would surface as a store error here.
    @Test func everyOperationRunsOnARealCluster() async throws {
        try await Self.withCluster { _, replicas in
            let store = replicas[0].store
            let keys = store.keys
            // Push work on every shard: the leases reach all of them.
            let perShard = ShardedLayoutTests.destinationPerShard(keys, app: "pusher")
            for (_, destination) in perShard {
                try await store.registerPushEndpoint(appName: "pusher", destination: destination, url: "http://127.0.0.1:9/rpc")
                _ = try await store.create([newRequest(store, app: "pusher", destination: destination)], idempotencyKey: nil)
            }
            var pushed: [PushDelivery] = []
            for _ in 0..<20 where pushed.count < keys.shardCount { pushed += try await store.leasePush(max: 100) }
            #expect(Set(pushed.compactMap { keys.shard(ofID: $0.record.id) }) == Set(0..<keys.shardCount))
            #expect(try await store.renewLease(id: pushed[0].record.id, token: try #require(pushed[0].record.leaseToken)) == .renewed)
            #expect(try await store.deferDelivery(id: pushed[1].record.id, token: try #require(pushed[1].record.leaseToken), by: 0.2))
            #expect(try await store.markSyftBoxDelivery(id: pushed[2].record.id, sender: "proxy@example.com", leaseToken: pushed[2].record.leaseToken))
            #expect(try await store.releaseLease(id: pushed[3].record.id, token: try #require(pushed[3].record.leaseToken)))
            #expect(try await store.removePushEndpoint(appName: "pusher", destination: pushed[4].record.destination))

            let broadcast = (0..<50).map { newRequest(store, app: "notifier", destination: "user\($0)@example.com", params: ["m": "hi"]) }
            #expect(try await store.create(broadcast, idempotencyKey: nil).map(\.record.id) == broadcast.map(\.id))
            #expect(try await store.record(id: broadcast[49].id)?.params == ["m": "hi"])

            let first = newRequest(store, destination: "idem@example.com")
            let again = newRequest(store, destination: "idem@example.com")
            _ = try await store.create([first], idempotencyKey: idempotencyKey("cluster-key", for: first))
            #expect(try await store.create([again], idempotencyKey: idempotencyKey("cluster-key", for: again)) == [.duplicate(try #require(try await store.record(id: first.id)))])
            let other = newRequest(store, destination: "elsewhere@example.com")
            await #expect(throws: IdempotencyKeyReused.self) {
                _ = try await store.create([other], idempotencyKey: idempotencyKey("cluster-key", for: other))
            }

            let leased = try await store.leaseInbox(appName: "calculator", destination: "idem@example.com", max: 5)
            #expect(leased.map(\.id) == [first.id])
            #expect(try await store.answer(id: first.id, with: .result(1), leaseToken: leased.first?.leaseToken) != .notFound)
            try await Task.sleep(for: .milliseconds(600))
            let report = try await store.sweep()
            #expect(report.redelivered >= 1)
            #expect(try await store.stats().queuedForPull >= 50)
            #expect(try await store.publishSchema(appName: "calculator", schema: ["f": 1], owner: nil) == .stored)
            #expect(try await store.schema(appName: "calculator") == ["f": 1])
            #expect(try await store.consumeRateLimit(key: "id:alice", cost: 1, limit: 5, window: 60).allowed)
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "idem@example.com"))
            #expect(try await store.pushEndpoint(appName: "pusher", destination: pushed[5].record.destination) == "http://127.0.0.1:9/rpc")
            try await store.ping()
        }
    }
}
