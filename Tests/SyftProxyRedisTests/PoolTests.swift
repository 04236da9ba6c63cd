import NIOPosix
import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

@Suite struct PoolTests {
    @Test func thousandConcurrentCallersShareTwoConnections() async throws {
        try await withRedisServer { server in
            let observer = try await RedisConnection.connect(configuration: server.configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
            let acceptedBefore = try await acceptedConnections(observer)
            let pool = RedisConnectionPool(configuration: server.configuration, connectionCount: 2, logger: testLogger)
            let running = Task { await pool.run() }
            try await eventually("both connections up") { pool.connectedCount == 2 }

            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<1000 {
                    group.addTask {
                        #expect(try await pool.send(RedisCommand("INCR", "counter:\(n)")) == .integer(1))
                        _ = try await pool.send(RedisCommand("SET", "key:\(n)", "value:\(n)"))
                        #expect(try await pool.send(RedisCommand("GET", "key:\(n)")) == .bulk("value:\(n)"))
                    }
                }
                try await group.waitForAll()
            }

            // Two pool connections and the observer, and no pool connection opened on the side.
            let clients = try await observer.send(RedisCommand("CLIENT", "LIST")).string ?? ""
            #expect(clients.split(separator: "\n").count == 3)
            #expect(try await acceptedConnections(observer) - acceptedBefore == 2)
            #expect(pool.connectedCount == 2)

            await pool.shutdown()
            await running.value
            await observer.close()
        }
    }

    @Test func failsFastWhileRedisIsDownAndRecovers() async throws {
        try await withPool { pool, server in
            server.stop()
            try await eventually("the pool notices the outage") { pool.connectedCount == 0 }
            let clock = ContinuousClock()
            for _ in 0..<20 {
                let started = clock.now
                await #expect {
                    try await pool.send(RedisCommand("PING"))
                } throws: { error in
                    guard case RedisError.unavailable(let message) = error else { return false }
                    return message.contains("Redis at 127.0.0.1:\(server.port) is unreachable")
                }
                #expect(clock.now - started < .seconds(1))
            }
            await #expect(throws: RedisError.self) { try await pool.ping() }

            try await server.start()
            try await eventually("the pool answers again") { (try? await pool.send(RedisCommand("PING"))) == .simpleString("PONG") }
            try await eventually("every connection is back") { pool.connectedCount == 2 }
        }
    }

    @Test func dedicatedConnectionRunsATransaction() async throws {
        try await withPool { pool, _ in
            let reply = try await pool.withDedicatedConnection { connection in
                _ = try await connection.send(RedisCommand("MULTI"))
                #expect(try await connection.send(RedisCommand("INCR", "tx")) == .simpleString("QUEUED"))
                return try await connection.send(RedisCommand("EXEC"))
            }
            #expect(reply == .array([.integer(1)]))
        }
    }

    @Test func shutdownStopsRunAndRefusesCalls() async throws {
        try await withRedisServer { server in
            let pool = RedisConnectionPool(configuration: server.configuration, connectionCount: 2, logger: testLogger)
            let running = Task { await pool.run() }
            try await eventually("both connections up") { pool.connectedCount == 2 }
            await pool.shutdown()
            await running.value
            #expect(pool.connectedCount == 0)
            await #expect {
                try await pool.send(RedisCommand("PING"))
            } throws: { error in
                if case RedisError.connectionClosed = error { return true }
                return false
            }
        }
    }

    @Test func cancellingRunClosesConnections() async throws {
        try await withRedisServer { server in
            let pool = RedisConnectionPool(configuration: server.configuration, connectionCount: 3, logger: testLogger)
            let running = Task { await pool.run() }
            try await eventually("all connections up") { pool.connectedCount == 3 }
            running.cancel()
            await running.value
            try await eventually("all connections closed") { pool.connectedCount == 0 }
        }
    }

    private func acceptedConnections(_ connection: RedisConnection) async throws -> Int {
        let info = try await connection.send(RedisCommand("INFO", "stats")).string ?? ""
        let line = info.split(separator: "\r\n").first { $0.hasPrefix("total_connections_received:") }
        return line.flatMap { Int($0.dropFirst("total_connections_received:".count)) } ?? -1
    }
}
