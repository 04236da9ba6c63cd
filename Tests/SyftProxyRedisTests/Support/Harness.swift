import Logging
import SyftProxyRedis
import Testing

let testLogger = Logger(label: "redis-tests")

/// Runs `body` against a fresh redis-server, which is stopped afterwards whatever happens.
@discardableResult
func withRedisServer<T>(
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RedisServerProcess) async throws -> T
) async throws -> T {
    let server = try await RedisServerProcess.launch()
    do {
        let result = try await body(server)
        await server.stop()
        return result
    } catch {
        await server.stop()
        throw error
    }
}

/// A running pool over a fresh redis-server, with every connection up before `body` starts.
@discardableResult
func withPool<T>(
    connections: Int = 2,
    isolation: isolated (any Actor)? = #isolation,
    _ body: (RedisConnectionPool, RedisServerProcess) async throws -> T
) async throws -> T {
    try await withRedisServer { server in
        let pool = RedisConnectionPool(configuration: server.configuration, connectionCount: connections, logger: testLogger)
        let running = Task { await pool.run() }
        do {
            try await eventually("all \(connections) pool connections up") { pool.connectedCount == connections }
            let result = try await body(pool, server)
            await pool.shutdown()
            await running.value
            return result
        } catch {
            await pool.shutdown()
            await running.value
            throw error
        }
    }
}

/// Polls `condition` every 20 ms; fails the test if it is still false after `seconds`.
func eventually(
    _ what: String, within seconds: Double = 10,
    isolation: isolated (any Actor)? = #isolation,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + .milliseconds(Int64(seconds * 1000))
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw TestFailure("not within \(seconds) s: \(what)")
}

extension RESPValue {
    static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
}
