import Logging
import SyftProxyCore
import SyftProxyRedis
@testable import SyftProxyRedisStore
import SyftProxyTestSupport
import Testing

/// The Redis store's work per call must not grow with the number of queues or requests. Work is
/// counted as the commands Redis executed (scripts' inner commands included), which does not
/// depend on how fast the machine is; wall times are printed for the record.
@Suite struct RedisBoundedWorkTests {
    struct Harness {
        let server: RedisServerProcess
        let pool: RedisConnectionPool
        let store: RedisStore

        /// Runs `body` and returns its result with the commands Redis executed meanwhile.
        func measured<T>(_ label: String, _ body: () async throws -> T) async throws -> (value: T, commands: Int, seconds: Double) {
            let before = try await commandsProcessed()
            let started = Timestamp.now()
            let value = try await body()
            let seconds = Timestamp.now() - started
            // The first INFO itself is counted in the second reading.
            let commands = try await commandsProcessed() - before - 1
            print("\(label): \(commands) Redis commands, \(String(format: "%.2f", seconds * 1000)) ms")
            return (value, commands, seconds)
        }

        func commandsProcessed() async throws -> Int {
            let info = try await pool.send(RedisCommand(["INFO", "stats"])).string ?? ""
            let line = info.split(whereSeparator: \.isNewline).first { $0.hasPrefix("total_commands_processed:") }
            return line.flatMap { Int($0.split(separator: ":").last ?? "") } ?? 0
        }

        func command(_ arguments: [String]) async throws -> RESPValue {
            try await pool.send(RedisCommand(arguments))
        }
    }

    static func withHarness<T: Sendable>(_ body: (Harness) async throws -> T) async throws -> T {
        let server = try await RedisServerProcess.launch()
        defer { server.stop() }
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: server.url), connectionCount: 4, logger: Logger(label: "bounded-work-tests"))
        let background = Task { await pool.run() }
        defer { background.cancel() }
        for _ in 0..<100 where pool.connectedCount < pool.connectionCount { try await Task.sleep(for: .milliseconds(20)) }
        return try await body(Harness(server: server, pool: pool, store: try RedisStore(deployment: pool, settings: StoreSettings())))
    }

    static func destination(_ n: Int) -> String { "user\(n)@example.com" }

    /// 50,000 pending requests over 20,000 destinations, a quarter of them routed to push: the
    /// gauge read, an endpoint removal and an inbox lease each cost a bounded number of commands,
    /// and a sweep tick (which walks the queues in slices) stays bounded too.
    @Test func workStaysBoundedWithManyQueuesAndRequests() async throws {
        try await Self.withHarness { harness in
            let store = harness.store
            let destinations = 20_000
            let pushDestinations = 5_000
            let requests = 50_000
            let seedStarted = Timestamp.now()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for slice in stride(from: 0, to: pushDestinations, by: 500) {
                    group.addTask {
                        for n in slice..<min(slice + 500, pushDestinations) {
                            try await store.registerPushEndpoint(appName: "calculator", destination: Self.destination(n), url: "http://127.0.0.1:9/rpc")
                        }
                    }
                }
                try await group.waitForAll()
            }
            try await withThrowingTaskGroup(of: Void.self) { group in
                for batch in stride(from: 0, to: requests, by: 500) {
                    group.addTask {
                        let created = (batch..<batch + 500).map { newRequest(store, destination: Self.destination($0 % destinations)) }
                        _ = try await store.create(created, idempotencyKey: nil)
                    }
                }
                try await group.waitForAll()
            }
            print("seeded \(requests) requests over \(destinations) destinations in \(String(format: "%.1f", Timestamp.now() - seedStarted)) s")
            let pushQueued = requests / destinations * pushDestinations + min(requests % destinations, pushDestinations)
            let pullQueued = requests - pushQueued

            // The queue gauges converge within a bounded number of sweep ticks, each bounded work.
            var ticks = 0
            var heaviestTick = 0
            var stats = try await store.stats()
            while stats.queuedForPull != pullQueued, ticks < 400 {
                let tick = try await harness.measured("sweep tick \(ticks)") { try await store.sweep() }
                heaviestTick = max(heaviestTick, tick.commands)
                ticks += 1
                stats = try await store.stats()
            }
            print("queue gauges converged after \(ticks) sweep ticks; heaviest tick \(heaviestTick) commands")
            #expect(stats.queuedForPull == pullQueued)
            #expect(stats.queuedForPush == pushQueued)
            #expect(heaviestTick < 20_000)

            let gauges = try await harness.measured("gauge read (stats)") { try await store.stats() }
            // A few commands per shard: the shards' walk totals, not a count of every queue.
            #expect(gauges.commands < 8 * store.shardCount)
            let removal = try await harness.measured("endpoint removal") {
                try await store.removePushEndpoint(appName: "calculator", destination: Self.destination(7))
            }
            #expect(removal.value)
            #expect(removal.commands < 50)
            let lease = try await harness.measured("inbox lease of 10") {
                try await store.leaseInbox(appName: "calculator", destination: Self.destination(pushDestinations + 1), max: 10)
            }
            #expect(lease.value.count == requests / destinations + (pushDestinations + 1 < requests % destinations ? 1 : 0))
            #expect(lease.commands < 200)
            #expect(gauges.seconds < 1 && removal.seconds < 1 && lease.seconds < 1)
        }
    }

    /// Ids of answered requests leave the pull lists and a queue left empty leaves the set of
    /// queues, without any consumer polling the pair.
    @Test func sweepTrimsDeadIDsAndForgetsEmptyQueues() async throws {
        try await Self.withHarness { harness in
            let store = harness.store
            let dead = (0..<3).map { _ in newRequest(store, destination: "bob@example.com") }
            let mixed = (0..<2).map { _ in newRequest(store, destination: "carol@example.com") }
            _ = try await store.create(dead + mixed, idempotencyKey: nil)
            for request in dead + [mixed[0]] { _ = try await store.answer(id: request.id, with: .result(1)) }
            _ = try await store.sweep()
            _ = try await store.stats()
            let keys = store.keys
            let bob = QueueName(appName: "calculator", destination: "bob@example.com")
            let carol = QueueName(appName: "calculator", destination: "carol@example.com")
            var queues = 0
            for shard in keys.shards { queues += Int(try await harness.command(["SCARD", shard.queueSet]).int ?? 0) }
            #expect(queues == 1)
            #expect(try await harness.command(["EXISTS", keys.shards[keys.shard(of: bob)].queue(bob)]).int == 0)
            #expect(try await harness.command(["LRANGE", keys.shards[keys.shard(of: carol)].queue(carol), "0", "-1"]).array?.compactMap(\.string) == [mixed[1].id])
        }
    }
}
