import NIOCore
import NIOPosix
import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

@Suite struct ConnectionTests {
    @Test func binarySafeValuesRoundTrip() async throws {
        try await withPool { pool, _ in
            let awkward: [UInt8] = Array("a\r\nb".utf8) + [0, 255, 13, 10, 0]
            _ = try await pool.send(RedisCommand(arguments: [Array("SET".utf8), Array("k".utf8), awkward]))
            #expect(try await pool.send(RedisCommand("GET", "k")) == .bulkString(awkward))
            let big = (0..<1_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
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
            #expect(try await pool.send(RedisCommand("LRANGE", "list", "0", "-1")) == .array([.bulk("a"), .bulk("b")]))
            #expect(try await pool.send(RedisCommand("LRANGE", "none", "0", "-1")) == .array([]))
            await #expect {
                try await pool.send(RedisCommand("NOSUCHCOMMAND"))
            } throws: { error in
                guard case RedisError.server(let message) = error else { return false }
                return message.hasPrefix("ERR unknown command")
            }
            // The connection is still in step after an error reply.
            #expect(try await pool.send(RedisCommand("GET", "n")).int == 41)
        }
    }

    @Test func logsInAndSelectsTheDatabase() async throws {
        let server = try await RedisServerProcess.launch(options: ["--requirepass", "s3cret"])
        do {
            var configuration = try RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(server.port)/3")
            let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
            _ = try await connection.send(RedisCommand("SET", "where", "three"))
            #expect(try await connection.send(RedisCommand("CLIENT", "INFO")).string?.contains(" db=3 ") == true)
            await connection.close()

            configuration.password = "wrong"
            await #expect {
                try await RedisConnection.connect(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
            } throws: { error in
                guard case RedisError.unavailable(let message) = error else { return false }
                return message.contains("password")
            }
        } catch {
            server.stop()
            throw error
        }
        server.stop()
    }

    @Test func protocolErrorClosesTheConnection() async throws {
        let server = try await ScriptedServer.start { _ in Array("!not resp\r\n".utf8) }
        let connection = try await RedisConnection.connect(
            configuration: RedisConfiguration(host: "127.0.0.1", port: server.port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
        await #expect {
            try await connection.send(RedisCommand("PING"))
        } throws: { error in
            guard case RedisError.protocolError(let message) = error else { return false }
            return message.contains("127.0.0.1:\(server.port)")
        }
        try await connection.closeFuture.get()
        #expect(!connection.isActive)
        await #expect(throws: RedisError.self) { try await connection.send(RedisCommand("PING")) }
        await server.stop()
    }

    @Test func hungServerTimesOutInsteadOfHanging() async throws {
        let server = try await ScriptedServer.start { _ in nil }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.commandTimeout = .milliseconds(200)
        let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
        let clock = ContinuousClock()
        let started = clock.now
        // Every caller waiting on the hung connection fails, not just the first.
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<3 {
                group.addTask {
                    await #expect {
                        try await connection.send(RedisCommand("PING"))
                    } throws: { error in
                        if case RedisError.timeout = error { return true }
                        return false
                    }
                }
            }
        }
        let elapsed = clock.now - started
        #expect(elapsed >= .milliseconds(200) && elapsed < .seconds(2))
        try await connection.closeFuture.get()
        await server.stop()
    }

    @Test func pipelinedRepliesGoToTheirOwnCallers() async throws {
        try await withRedisServer { server in
            let connection = try await RedisConnection.connect(configuration: server.configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
            try await withThrowingTaskGroup(of: Void.self) { group in
                for n in 0..<500 {
                    group.addTask {
                        let reply = try await connection.send(RedisCommand("ECHO", "reply \(n)"))
                        #expect(reply == .bulk("reply \(n)"))
                    }
                }
                try await group.waitForAll()
            }
            await connection.close()
        }
    }

    @Test func unreachableRedisIsUnavailable() async throws {
        let port = try FreePort.find()
        await #expect {
            try await RedisConnection.connect(
                configuration: RedisConfiguration(host: "127.0.0.1", port: port), eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
        } throws: { error in
            guard case RedisError.unavailable(let message) = error else { return false }
            return message.contains("127.0.0.1:\(port)")
        }
    }
}

@Suite struct CancellationTests {
    @Test func cancelledCallerReturnsAtOnceAndTheConnectionStaysInStep() async throws {
        // Answers PING at once and never answers GET, like a Redis busy on something else.
        let server = try await ScriptedServer.start { request in
            String(buffer: request).contains("PING") ? Array("+PONG\r\n".utf8) : nil
        }
        var configuration = RedisConfiguration(host: "127.0.0.1", port: server.port)
        configuration.commandTimeout = .seconds(30)
        let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: MultiThreadedEventLoopGroup.singleton.next(), logger: testLogger)
        let clock = ContinuousClock()
        let waiting = Task { try await connection.send(RedisCommand("GET", "slow")) }
        try await Task.sleep(for: .milliseconds(100))
        let cancelledAt = clock.now
        waiting.cancel()
        await #expect(throws: CancellationError.self) { try await waiting.value }
        // Far sooner than the reply (never) or the timeout (30 s); the bound leaves room for a
        // loaded machine.
        #expect(clock.now - cancelledAt < .seconds(2))
        #expect(connection.isActive)
        await connection.close()
        await server.stop()
    }
}
