import Logging
import NIOPosix
import Synchronization
import Testing
@testable import SyftProxyRedis
import SyftProxyTestSupport

/// A pool connected to a fresh redis-server; both are gone when `body` returns.
func withPool<T: Sendable>(connections: Int = 2, _ body: @Sendable (RedisConnectionPool, RedisServerProcess) async throws -> T) async throws -> T {
    let server = try await RedisServerProcess.launch()
    defer { server.stop() }
    let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: server.url), connectionCount: connections, logger: Logger(label: "redis-tests"))
    let running = Task { await pool.run() }
    defer { running.cancel() }
    try await eventually { pool.connectedCount == connections }
    return try await body(pool, server)
}

func eventually(within seconds: Double = 10, _ condition: () async throws -> Bool) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .seconds(seconds)
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("condition not met within \(seconds) s")
}

@Suite struct RedisClientTests {
    @Test func binarySafeValuesRoundTrip() async throws {
        try await withPool { pool, _ in
            let awkward: [UInt8] = Array("a\r\nb".utf8) + [0, 255, 13, 10, 0]
            _ = try await pool.send(RedisCommand(arguments: [Array("SET".utf8), Array("k".utf8), awkward]))
            #expect(try await pool.send(RedisCommand("GET", "k")) == .bulkString(awkward))
            let big = [UInt8](repeating: 0x61, count: 1_000_000)
            _ = try await pool.send(RedisCommand(arguments: [Array("SET".utf8), Array("big".utf8), big]))
            #expect(try await pool.send(RedisCommand("GET", "big")) == .bulkString(big))
        }
    }

    @Test func replyKinds() async throws {
        try await withPool { pool, _ in
            #expect(try await pool.send(RedisCommand("PING")) == .simpleString("PONG"))
            #expect(try await pool.send(RedisCommand("INCRBY", "n", "41")) == .integer(41))
            #expect(try await pool.send(RedisCommand("GET", "missing")) == .null)
            _ = try await pool.send(RedisCommand("RPUSH", "list", "a", "b"))
            #expect(try await pool.send(RedisCommand("LRANGE", "list", "0", "-1")) == .array([.bulkString(Array("a".utf8)), .bulkString(Array("b".utf8))]))
            await #expect(throws: RedisError.self) { try await pool.send(RedisCommand("NOSUCHCOMMAND")) }
            // The connection is still in step after an error reply.
            #expect(try await pool.send(RedisCommand("GET", "n")).int == 41)
        }
    }

    @Test func thousandConcurrentCallersShareTwoConnections() async throws {
        try await withPool(connections: 2) { pool, server in
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<1000 {
                    group.addTask {
                        _ = try await pool.send(RedisCommand("SET", "key:\(n)", "value:\(n)"))
                        let value = try await pool.send(RedisCommand("GET", "key:\(n)"))
                        #expect(value.string == "value:\(n)")
                    }
                }
                try await group.waitForAll()
            }
            let clients = try server.redisCLI(["CLIENT", "LIST"]).split(separator: "\n").filter { !$0.contains("cmd=client") }
            #expect(clients.count == 2)
        }
    }

    @Test func evalshaFallsBackToEvalAfterScriptFlush() async throws {
        try await withPool { pool, _ in
            let script = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")
            #expect(try await pool.eval(script, keys: ["counter"], args: ["2"]).int == 2)
            _ = try await pool.send(RedisCommand("SCRIPT", "FLUSH"))
            #expect(try await pool.eval(script, keys: ["counter"], args: ["3"]).int == 5)
        }
    }

    @Test func failsFastWhileRedisIsDownAndRecovers() async throws {
        try await withPool { pool, server in
            server.stop()
            try await eventually { pool.connectedCount == 0 }
            let clock = ContinuousClock()
            let started = clock.now
            await #expect(throws: RedisError.self) { try await pool.send(RedisCommand("PING")) }
            #expect(clock.now - started < .seconds(1))
            try await server.start()
            try await eventually { (try? await pool.send(RedisCommand("PING"))) == .simpleString("PONG") }
        }
    }

    @Test func subscriberReceivesAndResubscribesAfterRestart() async throws {
        try await withPool { pool, server in
            let received = Mutex<[String]>([])
            let subscriptions = Mutex(0)
            let subscriber = RedisSubscriber(
                configuration: pool.configuration, channels: ["events"], logger: Logger(label: "redis-tests"),
                onMessage: { _, payload in received.withLock { $0.append(String(decoding: payload, as: UTF8.self)) } },
                onSubscribed: { subscriptions.withLock { $0 += 1 } })
            let running = Task { await subscriber.run() }
            defer { running.cancel() }
            try await eventually { subscriptions.withLock { $0 } == 1 }
            _ = try await pool.send(RedisCommand("PUBLISH", "events", "one"))
            try await eventually { received.withLock { $0 } == ["one"] }

            server.stop()
            try await server.start()
            try await eventually { subscriptions.withLock { $0 } == 2 }
            try await eventually { (try? await pool.send(RedisCommand("PUBLISH", "events", "two"))) == .integer(1) }
            try await eventually { received.withLock { $0 }.last == "two" }
        }
    }

    @Test func parsesRedisURLs() throws {
        let plain = try RedisConfiguration(url: "redis://127.0.0.1:6380/2")
        #expect(plain.host == "127.0.0.1" && plain.port == 6380 && plain.database == 2 && plain.password == nil)
        let auth = try RedisConfiguration(url: "redis://user:p%40ss@redis.internal")
        #expect(auth.username == "user" && auth.password == "p@ss" && auth.port == 6379 && auth.host == "redis.internal")
        let passwordOnly = try RedisConfiguration(url: "redis://:secret@localhost:7000")
        #expect(passwordOnly.username == nil && passwordOnly.password == "secret" && passwordOnly.port == 7000)
        for bad in ["http://localhost", "redis://", "redis://host:99999", "redis://host/x"] {
            #expect(throws: RedisError.self) { try RedisConfiguration(url: bad) }
        }
    }

    @Test func sha1MatchesKnownVectors() {
        #expect(SHA1.hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709")
        #expect(SHA1.hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d")
        #expect(SHA1.hex(String(repeating: "a", count: 1000)) == "291e9a6c66994949b57ba5e650361e98fc36b1ba")
    }
}
