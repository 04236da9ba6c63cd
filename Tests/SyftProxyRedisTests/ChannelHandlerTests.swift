import NIOCore
import NIOEmbedded
import Testing
@testable import SyftProxyRedis

/// The handler on an EmbeddedChannel: bytes in and out, virtual time, no sockets.
@Suite struct ChannelHandlerTests {
    /// Collects a future's outcome on the embedded loop's thread.
    final class Outcome: @unchecked Sendable {
        var result: Result<RESPValue, any Error>?
        var value: RESPValue? { try? result?.get() }
        var error: (any Error)? {
            if case .failure(let error) = result { return error }
            return nil
        }
    }

    struct Fixture {
        let loop = EmbeddedEventLoop()
        let handler: RedisChannelHandler
        let channel: EmbeddedChannel
        var nextID: UInt64 = 0

        init(timeout: TimeAmount = .seconds(1), maximumPending: Int = 100) throws {
            handler = RedisChannelHandler(endpoint: "embedded", commandTimeout: timeout, maximumPendingCommands: maximumPending)
            channel = EmbeddedChannel(handler: handler, loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6379)).wait()
        }

        mutating func request(_ arguments: String..., timeout: TimeAmount = .seconds(1)) throws -> (RedisRequest, Outcome) {
            nextID += 1
            let promise = loop.makePromise(of: RESPValue.self)
            let outcome = Outcome()
            promise.futureResult.whenComplete { outcome.result = $0 }
            return (RedisRequest(id: nextID, bytes: try RedisCommand(arguments).encoded(), promise: promise, timeout: timeout), outcome)
        }

        mutating func send(_ arguments: String...) throws -> Outcome {
            nextID += 1
            let promise = loop.makePromise(of: RESPValue.self)
            let outcome = Outcome()
            promise.futureResult.whenComplete { outcome.result = $0 }
            handler.write(RedisRequest(id: nextID, bytes: try RedisCommand(arguments).encoded(), promise: promise, timeout: .seconds(1)))
            return outcome
        }

        /// Everything written since the last call, as one string.
        func written() throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
            return text
        }

        func reply(_ resp: String) throws {
            try channel.writeInbound(ByteBuffer(string: resp))
        }
    }

    @Test func pipelinedCommandsShareOneFlushAndGetTheirOwnReplies() throws {
        var fixture = try Fixture()
        let first = try fixture.send("GET", "a")
        let second = try fixture.send("GET", "b")
        #expect(try fixture.written().isEmpty)
        fixture.loop.run()
        #expect(try fixture.written() == "*2\r\n$3\r\nGET\r\n$1\r\na\r\n*2\r\n$3\r\nGET\r\n$1\r\nb\r\n")
        // Both replies in one read.
        try fixture.reply("$1\r\nA\r\n-ERR no\r\n")
        #expect(first.value == .bulk("A"))
        #expect(second.error as? RedisError == .server("ERR no"))
    }

    @Test func cancellationBeforeAndAfterTheWrite() throws {
        var fixture = try Fixture()
        let (early, earlyOutcome) = try fixture.request("GET", "early")
        fixture.handler.write(early)
        fixture.handler.cancel(id: early.id)
        #expect(earlyOutcome.error is CancellationError)
        fixture.loop.run()
        #expect(try fixture.written().isEmpty)

        let (late, lateOutcome) = try fixture.request("GET", "late")
        fixture.handler.write(late)
        let next = try fixture.send("GET", "next")
        fixture.loop.run()
        _ = try fixture.written()
        fixture.handler.cancel(id: late.id)
        #expect(lateOutcome.error is CancellationError)
        try fixture.reply("$4\r\nlate\r\n$4\r\nnext\r\n")
        #expect(next.value == .bulk("next"))
        #expect(fixture.channel.isActive)
    }

    @Test func saturatedConnectionRefusesAtOnce() throws {
        var fixture = try Fixture(maximumPending: 2)
        _ = try fixture.send("PING")
        _ = try fixture.send("PING")
        let third = try fixture.send("PING")
        guard case RedisError.unavailable(let message)? = third.error else { Issue.record("the third command fails at once"); return }
        #expect(message.contains("saturated"))
    }

    @Test func askingAndItsCommandGoOutTogether() throws {
        var fixture = try Fixture()
        let before = try fixture.send("GET", "x")
        let (asking, askingOutcome) = try fixture.request("ASKING")
        let (get, getOutcome) = try fixture.request("GET", "{k}")
        fixture.handler.write(batch: [asking, get])
        let after = try fixture.send("GET", "y")
        fixture.loop.run()
        let wire = try fixture.written()
        #expect(wire.contains("*1\r\n$6\r\nASKING\r\n*2\r\n$3\r\nGET\r\n$3\r\n{k}\r\n"))
        try fixture.reply("$1\r\nx\r\n+OK\r\n$1\r\nk\r\n$1\r\ny\r\n")
        #expect(before.value == .bulk("x") && askingOutcome.value == .simpleString("OK") && getOutcome.value == .bulk("k") && after.value == .bulk("y"))
    }

    @Test func overdueReplyTimesOutAndCloses() throws {
        var fixture = try Fixture(timeout: .milliseconds(200))
        let (request, waiting) = try fixture.request("PING", timeout: .milliseconds(200))
        fixture.handler.write(request)
        fixture.loop.run()
        fixture.loop.advanceTime(by: .milliseconds(150))
        #expect(waiting.result == nil)
        fixture.loop.advanceTime(by: .milliseconds(200))
        guard case RedisError.timeout? = waiting.error else { Issue.record("the command timed out"); return }
        #expect(!fixture.channel.isActive)
    }

    @Test func readOnlyClosesTheConnection() throws {
        var fixture = try Fixture()
        let write = try fixture.send("SET", "k", "v")
        let queued = try fixture.send("GET", "k")
        fixture.loop.run()
        try fixture.reply("-READONLY You can't write against a read only replica.\r\n")
        #expect(write.error as? RedisError == .server("READONLY You can't write against a read only replica."))
        guard case RedisError.connectionClosed(let message)? = queued.error else { Issue.record("the rest fail with the reason"); return }
        #expect(message.contains("READONLY"))
        #expect(!fixture.channel.isActive)
    }

    @Test func pushesReachTheSubscriberCallback() throws {
        let fixture = try Fixture()
        final class Pushes: @unchecked Sendable { var values: [RESPValue] = [] }
        let pushes = Pushes()
        fixture.handler.deliverPushes { pushes.values.append($0) }
        try fixture.reply("*3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n")
        #expect(pushes.values == [.array([.bulk("smessage"), .bulk("c"), .bulk("hi")])])
    }

    @Test func closingFailsEveryPendingCaller() throws {
        var fixture = try Fixture()
        let written = try fixture.send("GET", "a")
        fixture.loop.run()
        let unwritten = try fixture.send("GET", "b")
        try fixture.channel.close().wait()
        guard case RedisError.connectionClosed? = written.error else { Issue.record("a written command fails as closed"); return }
        guard case RedisError.unavailable? = unwritten.error else { Issue.record("an unwritten one as unavailable"); return }
        let late = try fixture.send("PING")
        guard case RedisError.unavailable? = late.error else { Issue.record("a closed connection refuses at once"); return }
    }
}
