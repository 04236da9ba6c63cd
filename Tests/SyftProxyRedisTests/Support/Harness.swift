import Logging
import SyftProxyRedis
import SyftProxyTestSupport
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
        server.stop()
        return result
    } catch {
        server.stop()
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

extension RedisServerProcess {
    /// Without the password of a server started with `--requirepass`: tests add it themselves.
    var configuration: RedisConfiguration { RedisConfiguration(host: "127.0.0.1", port: port) }
}

extension RESPValue {
    static func bulk(_ text: String) -> RESPValue { .bulkString(Array(text.utf8)) }
}
