import NIOCore
import Testing
@testable import SyftProxyRedis

@Suite struct CommandEncodingTests {
    private func encoded(_ command: RedisCommand) throws -> String {
        let buffer = try command.encoded()
        return String(decoding: buffer.readableBytesView, as: UTF8.self)
    }

    @Test func formatsAsRESPArrays() throws {
        #expect(try encoded(RedisCommand("SET", "k", "v")) == "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n")
        #expect(try encoded(RedisCommand(["GET", ""])) == "*2\r\n$3\r\nGET\r\n$0\r\n\r\n")
        #expect(try encoded(RedisCommand("PING")) == "*1\r\n$4\r\nPING\r\n")
    }

    @Test func rawBytesAreBinarySafe() throws {
        let awkward: [UInt8] = [13, 10, 0, 255, 36, 42]
        let buffer = try RedisCommand(arguments: [Array("SET".utf8), awkward]).encoded()
        #expect(Array(buffer.readableBytesView) == Array("*2\r\n$3\r\nSET\r\n$6\r\n".utf8) + awkward + [13, 10])
    }

    @Test func keepsArgumentsAndName() {
        let command = RedisCommand("HSET", "h", "", "é")
        #expect(command.name == "HSET")
        #expect(command.arguments == [Array("HSET".utf8), Array("h".utf8), [], Array("é".utf8)])
    }

    @Test func aResentCommandWritesTheSameFrame() throws {
        // A cluster redirect sends the command it already sent; writing must not consume it.
        let command = RedisCommand("GET", "k")
        var first = try command.encoded()
        _ = first.readBytes(length: first.readableBytes)
        #expect(try encoded(command) == "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n")
        #expect(command.name == "GET")
    }

    @Test func emptyCommandIsRejected() {
        #expect(throws: RedisError.self) { try RedisCommand([String]()).encoded() }
    }
}

@Suite struct ReplyParsingTests {
    private func parse(_ chunks: [String]) throws -> [RESPValue] {
        let reader = try HiredisReader()
        var replies: [RESPValue] = []
        for chunk in chunks {
            try Array(chunk.utf8).withUnsafeBytes { try reader.feed($0) }
            while let reply = try reader.next() { replies.append(reply) }
        }
        return replies
    }

    @Test func everyReplyKind() throws {
        let replies = try parse(["+OK\r\n-ERR no\r\n:-42\r\n$3\r\na\r\n\r\n$-1\r\n*-1\r\n*2\r\n*1\r\n:1\r\n$0\r\n\r\n"])
        #expect(replies == [
            .simpleString("OK"), .error("ERR no"), .integer(-42), .bulkString([97, 13, 10]), .null, .null,
            .array([.array([.integer(1)]), .bulkString([])]),
        ])
    }

    @Test func repliesSplitAcrossReads() throws {
        #expect(try parse(["$5\r\nhe", "llo\r", "\n:", "7\r\n"]) == [.bulk("hello"), .integer(7)])
    }

    @Test func garbageIsAProtocolError() throws {
        #expect(throws: RedisError.self) { try parse(["!nonsense\r\n"]) }
    }

    @Test func nestedAndNullElements() throws {
        let stream = "*4\r\n*2\r\n$1\r\na\r\n*0\r\n$-1\r\n*-1\r\n*2\r\n+OK\r\n-ERR inner\r\n:3\r\n"
        let expected: [RESPValue] = [
            .array([.array([.bulk("a"), .array([])]), .null, .null, .array([.simpleString("OK"), .error("ERR inner")])]),
            .integer(3),
        ]
        #expect(try parse([stream]) == expected)
        #expect(try parse(stream.map { String($0) }) == expected)
    }

    @Test func anArraySplitInsideAnElement() throws {
        #expect(try parse(["*2\r\n$5\r\nhel", "lo\r\n:1", "\r\n"]) == [.array([.bulk("hello"), .integer(1)])])
    }

    @Test func garbageInsideAHalfReadArrayIsAProtocolError() throws {
        // The half-built array is handed back to the reader's freeObject, not leaked.
        #expect(throws: RedisError.self) { try parse(["*3\r\n$1\r\na\r\n*2\r\n:1\r\n", "!x\r\n"]) }
        // And one still half read when the reader goes, to its deinit.
        #expect(try parse(["*3\r\n$1\r\na\r\n*2\r\n"]) == [])
        let reader = try HiredisReader()
        try Array("*2\r\n:1\r\n?\r\n".utf8).withUnsafeBytes { try reader.feed($0) }
        #expect(throws: RedisError.self) { try reader.next() }
        #expect(throws: RedisError.self) { try Array(":1\r\n".utf8).withUnsafeBytes { try reader.feed($0) } }
    }

    @Test func nestingDeeperThanHiredisAllowsIsAProtocolError() throws {
        #expect(throws: RedisError.self) { try parse([String(repeating: "*1\r\n", count: 9) + ":1\r\n"]) }
    }

    @Test func accessors() {
        #expect(RESPValue.bulk("12").int == 12)
        #expect(RESPValue.simpleString("OK").string == "OK")
        #expect(RESPValue.integer(3).string == nil)
        #expect(RESPValue.null.isNull)
        #expect(RESPValue.array([.null]).array == [.null])
    }
}
