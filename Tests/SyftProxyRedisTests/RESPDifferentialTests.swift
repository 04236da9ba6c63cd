import CHiredis
import NIOCore
import Testing
@testable import SyftProxyRedis

/// The RESP the client writes and reads, against hiredis as the reference: frames byte for
/// byte against `redisFormatCommandArgv`, and generated replies through the reader in
/// arbitrary pieces.
@Suite struct RESPDifferentialTests {
    @Test func framesAreWhatHiredisFormats() throws {
        var random = SplitMix64(seed: 0x5EED)
        var cases: [[[UInt8]]] = [
            [[]],
            [Array("GET".utf8), []],
            [Array("SET".utf8), [13, 10], [0], [0, 13, 10, 36, 42, 255]],
            [Array("SET".utf8), Array("big".utf8), (0..<1_048_576).map { UInt8(truncatingIfNeeded: $0) }],
        ]
        for count in 1...300 { cases.append((0..<count).map { _ in random.argument() }) }
        for arguments in cases {
            let command = RedisCommand(arguments: arguments)
            let expected = try hiredisFrame(arguments)
            #expect(Array(try command.encoded().readableBytesView) == expected, "\(arguments.count) arguments")
            #expect(command.arguments == arguments)
        }
    }

    @Test func stringCommandsAreWhatHiredisFormats() throws {
        var random = SplitMix64(seed: 7)
        for count in 1...300 {
            let arguments = (0..<count).map { _ in random.text() }
            let command = RedisCommand(arguments)
            #expect(Array(try command.encoded().readableBytesView) == (try hiredisFrame(arguments.map { Array($0.utf8) })))
            #expect(command.name == arguments[0])
        }
    }

    @Test func generatedRepliesSurviveAnySplit() throws {
        var random = SplitMix64(seed: 42)
        for _ in 0..<300 {
            let replies = (0..<random.below(4) + 1).map { _ in random.reply(depth: 0) }
            var wire: [UInt8] = []
            for reply in replies { Self.write(reply, into: &wire) }
            let reader = try HiredisReader()
            var parsed: [RESPValue] = []
            var offset = 0
            while offset < wire.count {
                let end = min(wire.count, offset + random.below(64) + 1)
                try wire[offset..<end].withUnsafeBytes { try reader.feed($0) }
                while let reply = try reader.next() { parsed.append(reply) }
                offset = end
            }
            #expect(parsed == replies)
        }
    }

    private func hiredisFrame(_ arguments: [[UInt8]]) throws -> [UInt8] {
        // One spare byte, so an empty argument still has an address to hand over.
        let storage: [UInt8] = Array(arguments.joined()) + [0]
        return try storage.withUnsafeBufferPointer { bytes in
            guard let base = UnsafeRawPointer(bytes.baseAddress) else { throw RedisError.invalidCommand("no storage") }
            var pointers: [UnsafePointer<CChar>?] = []
            var offset = 0
            for argument in arguments {
                pointers.append((base + offset).assumingMemoryBound(to: CChar.self))
                offset += argument.count
            }
            let sizes = arguments.map(\.count)
            var formatted: UnsafeMutablePointer<CChar>?
            let length = redisFormatCommandArgv(&formatted, Int32(arguments.count), &pointers, sizes)
            guard length > 0, let formatted else { throw RedisError.invalidCommand("hiredis could not format the command") }
            defer { redisFreeCommand(formatted) }
            return Array(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
        }
    }

    /// RESP2 as Redis writes it.
    private static func write(_ value: RESPValue, into wire: inout [UInt8]) {
        switch value {
        case .simpleString(let text): wire += Array("+\(text)\r\n".utf8)
        case .error(let text): wire += Array("-\(text)\r\n".utf8)
        case .integer(let number): wire += Array(":\(number)\r\n".utf8)
        case .bulkString(let bytes): wire += Array("$\(bytes.count)\r\n".utf8) + bytes + [13, 10]
        case .null: wire += Array("$-1\r\n".utf8)
        case .array(let items):
            wire += Array("*\(items.count)\r\n".utf8)
            for item in items { write(item, into: &wire) }
        }
    }
}

/// A seeded generator, so a failure repeats.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    /// Mostly short, some empty, now and then large; any byte, CR, LF and NUL included.
    mutating func argument() -> [UInt8] {
        let length: Int
        switch below(100) {
        case 0..<5: length = 0
        case 5: length = 1000 + below(70_000)
        default: length = below(40)
        }
        return (0..<length).map { _ in below(4) == 0 ? [0, 13, 10][below(3)] : UInt8(truncatingIfNeeded: next()) }
    }

    mutating func text() -> String {
        String((0..<below(30)).map { _ in ["a", "Z", "9", ":", "{", "é", "\r", "\n", "🙂"][below(9)] })
    }

    /// Any RESP2 reply; arrays no deeper than hiredis reads (seven levels).
    mutating func reply(depth: Int) -> RESPValue {
        switch below(depth >= 6 ? 5 : 7) {
        case 0: return .simpleString(["OK", "QUEUED", "", "PONG é"][below(4)])
        case 1: return .error("ERR " + String(below(1000)))
        case 2: return .integer(Int64(bitPattern: next()))
        case 3: return .bulkString(argument())
        case 4: return .null
        default: return .array((0..<below(8)).map { _ in reply(depth: depth + 1) })
        }
    }
}
