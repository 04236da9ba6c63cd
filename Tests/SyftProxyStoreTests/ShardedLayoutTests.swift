import Logging
import SyftProxyCore
import SyftProxyRedis
@testable import SyftProxyRedisStore
import SyftProxyTestSupport
import Testing

/// The sharded key layout on one redis-server: ids carry their shard, foreign ids are unknown,
/// every call stays on one slot, push leases visit only shards with work, and the layout
/// record stops a replica started with another shard count.
@Suite struct ShardedLayoutTests {
    struct Harness {
        let server: RedisServerProcess
        let pool: RedisConnectionPool
        let checked: SlotCheckingDeployment
        let store: RedisStore
    }

    static func withStore<T: Sendable>(
        shards: Int = ShardLayout.defaultShardCount, pushRecheckInterval: Double = RedisStore.recheckInterval,
        server existing: RedisServerProcess? = nil, _ body: (Harness) async throws -> T
    ) async throws -> T {
        let server: RedisServerProcess
        if let existing { server = existing } else { server = try await RedisServerProcess.launch() }
        defer { if existing == nil { server.stop() } }
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: server.url), connectionCount: 2, logger: Logger(label: "layout-tests"))
        let checked = SlotCheckingDeployment(pool)
        let store = try RedisStore(deployment: checked, settings: StoreSettings(), shards: shards, pushRecheckInterval: pushRecheckInterval)
        let service = Task { try await store.service.run() }
        defer { service.cancel() }
        try await eventually("the store connects and subscribes") { pool.connectedCount == pool.connectionCount && store.isSubscribed }
        let value = try await body(Harness(server: server, pool: pool, checked: checked, store: store))
        #expect(checked.violations.isEmpty, "calls that mixed slots: \(checked.violations)")
        return value
    }

    /// A destination of `app` whose pair falls in each shard, by shard.
    static func destinationPerShard(_ keys: RedisKeys, app: String = "calculator") -> [Int: String] {
        var found: [Int: String] = [:]
        var n = 0
        while found.count < keys.shardCount {
            let destination = "user\(n)@example.com"
            let shard = keys.shard(of: QueueName(appName: app, destination: destination))
            if found[shard] == nil { found[shard] = destination }
            n += 1
        }
        return found
    }

    @Test func shardTagsSpreadEvenlyOverTheSlots() {
        for count in [1, 3, 16, 1024] {
            let keys = RedisKeys(shardCount: count)
            for shard in keys.shards {
                let slot = RedisHashSlot.slot(of: shard.tag)
                #expect(slot >= shard.index * RedisHashSlot.count / count && slot < (shard.index + 1) * RedisHashSlot.count / count)
                #expect(shard.scriptKeys.allSatisfy { RedisHashSlot.slot(of: $0) == slot })
            }
        }
        // Braces and ':' in names cannot move a pair key off its shard's slot or collide.
        let keys = RedisKeys(shardCount: 16)
        let tricky = QueueName(appName: "a}{b", destination: "{x}@y.z")
        let shard = keys.shards[keys.shard(of: tricky)]
        #expect(RedisHashSlot.slot(of: shard.queue(tricky)) == RedisHashSlot.slot(of: shard.tag))
        #expect(RedisKeys.digest(["a:b", "c"]) != RedisKeys.digest(["a", "b:c"]))
        #expect(RedisHashSlot.slot(of: keys.schema("{evil}")) == RedisHashSlot.slot(of: keys.schema("{evil}")))
        #expect(keys.schema("{evil}").hasPrefix("{syft:s:"))
    }

    /// Tags and shard choice are part of the stored state: a change would orphan every request
    /// of a running deployment. These values were computed apart from this code (CRC16 and
    /// FNV-1a as specified); the test fails when either drifts.
    @Test func theLayoutIsFixed() {
        let keys = RedisKeys(shardCount: 16)
        #expect(keys.shards.map(\.tag) == [
            "{syft:0:60}", "{syft:1:63}", "{syft:2:40}", "{syft:3:43}", "{syft:4:0}", "{syft:5:3}", "{syft:6:23}", "{syft:7:20}",
            "{syft:8:40}", "{syft:9:43}", "{syft:10:21}", "{syft:11:22}", "{syft:12:13}", "{syft:13:10}", "{syft:14:1}", "{syft:15:2}",
        ])
        #expect(keys.shard(of: QueueName(appName: "calculator", destination: "bob@example.com")) == 8)
        #expect(keys.shard(of: QueueName(appName: "calculator", destination: "carol@example.com")) == 0)
        #expect(keys.layoutRecord == "{syft}:layout")
    }

    @Test func idsAreUUIDsThatCarryTheirShard() async throws {
        let keys = RedisKeys(shardCount: 16)
        for shard in 0..<16 {
            let id = RequestIDs.random(embedding: shard)
            #expect(keys.shard(ofID: id) == shard)
            #expect(id == id.lowercased() && id.count == 36)
            #expect(Array(id)[14] == "4")
        }
        let name = QueueName(appName: "calculator", destination: "bob@example.com")
        #expect(keys.shard(ofID: keys.makeRequestID(for: name)) == keys.shard(of: name))
        // Garbage, upper case, another version, a shard past the count: unknown.
        for foreign in ["missing", "", RequestIDs.random(embedding: 16), RequestIDs.random(embedding: 15).uppercased(),
                        "00000000-0000-1000-8000-000000000001"] {
            #expect(keys.shard(ofID: foreign) == nil, "\(foreign)")
        }
    }

    @Test func foreignIDsAreUnknownAndNeverReachRedis() async throws {
        try await Self.withStore { (harness: Harness) async throws in
            let store = harness.store
            for id in ["missing", "../etc", RequestIDs.random(embedding: 999), "{syft:0:0}"] {
                #expect(try await store.record(id: id) == nil)
                #expect(try await store.answer(id: id, with: .result(1)) == .notFound)
                #expect(try await store.renewLease(id: id, token: "1") == .ended)
                #expect(try await store.releaseLease(id: id, token: "1") == false)
                #expect(try await store.deferDelivery(id: id, token: "1", by: 1) == false)
                #expect(try await store.markSyftBoxDelivery(id: id, sender: "a@b.c", leaseToken: nil) == false)
                #expect(try await store.waitForFinal(id: id, until: Timestamp.now() + 1) == nil)
            }
            // A random id (the memory store's kind) is refused before anything is stored.
            var stray = newRequest(store)
            stray.id = RequestIDs.random()
            if store.keys.shard(ofID: stray.id) != store.keys.shard(of: QueueName(appName: stray.appName, destination: stray.destination)) {
                await #expect(throws: ForeignRequestID.self) { _ = try await store.create([stray], idempotencyKey: nil) }
            }
        }
    }

    /// The hot path stays as it was: a send without a key is one script, its answer one more;
    /// a send with a key adds the claim.
    @Test func aSendIsOneScriptAndAKeyAddsOne() async throws {
        try await Self.withStore { (harness: Harness) async throws in
            let store = harness.store
            try await store.ping()
            func scripts(_ body: () async throws -> Void) async throws -> Int {
                harness.checked.resetCounts()
                try await body()
                return harness.checked.evalsPerSlot.values.reduce(0, +)
            }
            let request = newRequest(store)
            #expect(try await scripts { _ = try await store.create([request], idempotencyKey: nil) } == 1)
            #expect(try await scripts { _ = try await store.answer(id: request.id, with: .result(1)) } == 1)
            let keyed = newRequest(store)
            #expect(try await scripts { _ = try await store.create([keyed], idempotencyKey: idempotencyKey("one", for: keyed)) } == 2)
            // A broadcast: one script per shard its destinations fall in.
            let broadcast = (0..<50).map { newRequest(store, destination: "user\($0)@example.com") }
            let shards = Set(broadcast.map { store.keys.shard(of: QueueName(appName: $0.appName, destination: $0.destination)) })
            #expect(try await scripts { _ = try await store.create(broadcast, idempotencyKey: nil) } == shards.count)
        }
    }

    /// A replica that died between an Idempotency-Key's claim and its create left a claim
    /// without a record: the retry creates the claimed id, once; another body is still refused.
    @Test func aClaimWithoutARecordIsCreatedByTheRetry() async throws {
        try await Self.withStore { (harness: Harness) async throws in
            let store = harness.store
            let lost = newRequest(store)
            let key = idempotencyKey("crashed", for: lost)
            _ = try await harness.pool.eval(
                store.scripts.claimIdempotencyKey, keys: [store.keys.idempotency(key)], args: [lost.id, key.requestDigest, "60000"])
            #expect(try await store.record(id: lost.id) == nil)
            let retry = newRequest(store)
            guard case .created(let record)? = try await store.create([retry], idempotencyKey: idempotencyKey("crashed", for: retry)).first else {
                Issue.record("the retry did not create the claimed request"); return
            }
            #expect(record.id == lost.id)
            let again = newRequest(store)
            #expect(try await store.create([again], idempotencyKey: idempotencyKey("crashed", for: again)) == [.duplicate(try #require(try await store.record(id: lost.id)))])
            let other = newRequest(store, params: ["other": true])
            await #expect(throws: IdempotencyKeyReused.self) { _ = try await store.create([other], idempotencyKey: idempotencyKey("crashed", for: other)) }
            #expect(try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 10).map(\.id) == [lost.id])
        }
    }

    /// Every kind of call, through the slot checker: none mixes slots, and they reach many shards.
    @Test func representativeOperationsStayOnOneSlotEach() async throws {
        try await Self.withStore { (harness: Harness) async throws in
            let store = harness.store
            let destinations = (0..<50).map { "user\($0)@example.com" }
            let broadcast = destinations.map { newRequest(store, app: "notifier", destination: $0, params: ["m": "hi"]) }
            let outcomes = try await store.create(broadcast, idempotencyKey: nil)
            #expect(outcomes.map(\.record.id) == broadcast.map(\.id))
            for request in broadcast { #expect(try await store.record(id: request.id)?.params == ["m": "hi"]) }
            let idem = newRequest(store)
            _ = try await store.create([idem], idempotencyKey: idempotencyKey("k", for: idem))
            let repeated = newRequest(store)
            #expect(try await store.create([repeated], idempotencyKey: idempotencyKey("k", for: repeated)).first?.record.id == idem.id)
            let leased = try await store.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 5)
            #expect(leased.map(\.id) == [idem.id])
            try await store.registerPushEndpoint(appName: "notifier", destination: destinations[0], url: "http://127.0.0.1:9/rpc")
            #expect(try await store.registerPushEndpointIfAbsent(appName: "notifier", destination: destinations[1], url: "http://127.0.0.1:9/rpc"))
            var pushed: [PushDelivery] = []
            for _ in 0..<5 where pushed.count < 2 { pushed += try await store.leasePush(max: 10) }
            #expect(Set(pushed.map(\.record.destination)) == Set(destinations[0...1]))
            #expect(try await store.removePushEndpoint(appName: "notifier", destination: destinations[0]))
            #expect(try await store.answer(id: leased[0].id, with: .result(1), leaseToken: leased[0].leaseToken) == .accepted(try #require(try await store.record(id: idem.id))))
            _ = try await store.sweep()
            _ = try await store.stats()
            #expect(try await store.publishSchema(appName: "calc{x}", schema: ["f": 1], owner: "bob@example.com") == .stored)
            #expect(try await store.schema(appName: "calc{x}") == ["f": 1])
            #expect(try await store.consumeRateLimit(key: "id:{alice}", cost: 1, limit: 5, window: 60).allowed)
            #expect(try await store.hasActivePullConsumer(appName: "calculator", destination: "bob@example.com"))
            #expect(harness.checked.slotsTouched.count > 10)
        }
    }

    /// 16 shards, push work on 3: the leases take from each of the 3, one shard after another,
    /// and never run a script on the other 13.
    @Test func pushLeasesVisitOnlyShardsWithWorkInTurn() async throws {
        // No periodic full mark during the test; the subscription's mark is drained first.
        try await Self.withStore(pushRecheckInterval: 3600) { (harness: Harness) async throws in
            let store = harness.store
            let keys = store.keys
            for _ in 0..<3 { _ = try await store.leasePush(max: 10) }
            let perShard = Self.destinationPerShard(keys)
            let busy = [2, 7, 13]
            for shard in busy {
                let destination = try #require(perShard[shard])
                try await store.registerPushEndpoint(appName: "calculator", destination: destination, url: "http://127.0.0.1:9/rpc")
                _ = try await store.create((0..<3).map { _ in newRequest(store, destination: destination) }, idempotencyKey: nil)
            }
            harness.checked.resetCounts()
            var order: [Int] = []
            for _ in 0..<9 {
                let leased = try await store.leasePush(max: 1)
                guard let id = leased.first?.record.id, let shard = keys.shard(ofID: id) else { Issue.record("a lease came back empty"); return }
                order.append(shard)
            }
            #expect(try await store.leasePush(max: 10).isEmpty)
            // Round-robin: each window of three leases takes one from each busy shard.
            for window in stride(from: 0, to: 9, by: 3) { #expect(Set(order[window..<window + 3]) == Set(busy), "\(order)") }
            let busySlots = Set(busy.map { RedisHashSlot.slot(of: keys.shards[$0].tag) })
            #expect(Set(harness.checked.evalsPerSlot.keys).isSubset(of: busySlots), "\(harness.checked.evalsPerSlot)")
            // An empty poll with nothing marked costs no Redis call.
            harness.checked.resetCounts()
            #expect(try await store.leasePush(max: 10).isEmpty)
            #expect(harness.checked.evalsPerSlot.isEmpty)
        }
    }

    @Test func aReplicaWithAnotherShardCountRefusesToServe() async throws {
        let server = try await RedisServerProcess.launch()
        defer { server.stop() }
        try await Self.withStore(shards: 16, server: server) { (harness: Harness) async throws in
            _ = try await harness.store.create([newRequest(harness.store)], idempotencyKey: nil)
        }
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: server.url), connectionCount: 1, logger: Logger(label: "layout-tests"))
        let other = try RedisStore(deployment: pool, settings: StoreSettings(), shards: 8)
        let service = Task { try await other.service.run() }
        defer { service.cancel() }
        try await eventually("the pool connects") { pool.connectedCount == 1 }
        do {
            try await other.ping()
            Issue.record("a replica with 8 shards served a deployment laid out in 16")
        } catch let error as StoreError {
            #expect("\(error)".contains("PROXY_REDIS_SHARDS=8") && "\(error)".contains("16 shards"), "\(error)")
        }
        await #expect(throws: StoreError.self) { _ = try await other.leaseInbox(appName: "calculator", destination: "bob@example.com", max: 1) }
        await #expect(throws: StoreError.self) { _ = try await other.stats() }
        // Even an id this replica cannot place is refused, not reported unknown.
        await #expect(throws: StoreError.self) { _ = try await other.record(id: RequestIDs.random(embedding: 12)) }
        #expect(throws: StoreError.self) { _ = try RedisStore(deployment: pool, settings: StoreSettings(), shards: 1025) }
    }
}
