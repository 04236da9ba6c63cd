import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

@Suite struct BlockingClientTests {
    @Test func popTimesOutEmptyAndReceivesPushes() async throws {
        try await withPool { pool, server in
            let client = RedisBlockingClient(configuration: server.configuration, logger: testLogger)
            let clock = ContinuousClock()
            let started = clock.now
            #expect(try await client.blockingPopFirst(from: ["jobs"], timeout: .milliseconds(200)) == nil)
            #expect(clock.now - started >= .milliseconds(150))

            let popped = Task { try await client.blockingPopFirst(from: ["other", "jobs"], timeout: .seconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            // The shared connections stay responsive while the pop blocks.
            let pingStarted = clock.now
            try await pool.ping()
            #expect(clock.now - pingStarted < .milliseconds(500))
            _ = try await pool.send(RedisCommand(arguments: [Array("RPUSH".utf8), Array("jobs".utf8), [0, 13, 10]]))
            let result = try await popped.value
            #expect(result?.key == "jobs" && result?.value == [0, 13, 10])
            await client.close()
        }
    }

    @Test func cancellingAPopAbandonsItAndTheClientRecovers() async throws {
        try await withPool { pool, server in
            let client = RedisBlockingClient(configuration: server.configuration, logger: testLogger)
            let popped = Task { try await client.blockingPopFirst(from: ["never"], timeout: .seconds(30)) }
            try await Task.sleep(for: .milliseconds(100))
            let clock = ContinuousClock()
            let cancelledAt = clock.now
            popped.cancel()
            await #expect(throws: CancellationError.self) { try await popped.value }
            #expect(clock.now - cancelledAt < .seconds(1))

            _ = try await pool.send(RedisCommand("RPUSH", "later", "x"))
            #expect(try await client.blockingPopFirst(from: ["later"], timeout: .seconds(1))?.value == Array("x".utf8))
            await client.close()
        }
    }

    @Test func failsFastWhileRedisIsDownAndReconnects() async throws {
        try await withRedisServer { server in
            let client = RedisBlockingClient(configuration: server.configuration, logger: testLogger)
            #expect(try await client.send(RedisCommand("PING")) == .simpleString("PONG"))
            server.stop()
            let clock = ContinuousClock()
            for _ in 0..<5 {
                let started = clock.now
                await #expect(throws: RedisError.self) { try await client.send(RedisCommand("PING")) }
                #expect(clock.now - started < .seconds(1))
            }
            try await server.start()
            try await eventually("the client reconnects") { (try? await client.send(RedisCommand("PING"))) == .simpleString("PONG") }
            await client.close()
            await #expect(throws: RedisError.self) { try await client.send(RedisCommand("PING")) }
        }
    }
}
