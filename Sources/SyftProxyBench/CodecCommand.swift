import ArgumentParser
import Foundation
import NIOCore
@_spi(Codec) import SyftProxyRedis

/// The RESP codec alone, no I/O: encoding the create script's EVALSHA and decoding a
/// record-sized reply, in ns per operation. Run it under
/// `valgrind --tool=memcheck` or `--tool=callgrind` with two `--iterations` values for
/// allocations and instructions per operation that do not depend on machine load.
struct CodecCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "codec", abstract: "ns/op of encoding an EVALSHA and decoding a record reply.")

    @Option(help: "Operations per cell.") var iterations = 200_000
    @Option(help: "Timed rounds per cell; the fastest is reported.") var rounds = 5
    @Option(help: "Cells to run: encode, decode or both.") var cell = "both"

    func run() throws {
        let allocator = ByteBufferAllocator()
        let shape = CodecShapes()
        if cell != "decode" {
            let frame = try RedisCommand(shape.evalsha).wireBytes()
            report("encode EVALSHA (\(shape.evalsha.count) arguments, \(frame.readableBytes) bytes)", try time {
                var bytes = 0
                for _ in 0..<iterations { bytes &+= try RedisCommand(shape.evalsha).wireBytes().readableBytes }
                return bytes
            })
        }
        if cell != "encode" {
            let parser = try RESPReplyParser()
            let reply = shape.recordReply(allocator: allocator)
            guard try parser.replies(in: reply) == [shape.recordValue] else { throw BenchError("the record reply did not decode to what was encoded") }
            report("decode record reply (\(shape.recordValue.array?.count ?? 0) bulk strings, \(reply.readableBytes) bytes)", try time {
                var count = 0
                for _ in 0..<iterations { count &+= try parser.replies(in: reply).count }
                return count
            })
        }
    }

    /// The fastest round's ns per operation: the others lost time to the machine, not the code.
    private func time(_ body: () throws -> Int) rethrows -> Double {
        var best = Double.infinity
        var sink = 0
        for _ in 0..<max(rounds, 1) {
            let start = DispatchTime.now().uptimeNanoseconds
            sink &+= try body()
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / Double(max(iterations, 1)))
        }
        if sink == 42 { Swift.print("") }
        return best
    }

    private func report(_ cell: String, _ nanoseconds: Double) {
        Swift.print("\(cell): \(String(format: "%.0f", nanoseconds)) ns/op over \(iterations) iterations, best of \(rounds)")
    }
}

/// What the store sends and receives most: the create script's arguments (12 keys, 16
/// arguments, the params ~200 bytes) and a request record as HGETALL-like pairs.
struct CodecShapes {
    let evalsha: [String]
    let recordValue: RESPValue

    init() {
        let id = "0b7f3c52-6a1e-4d8e-9f51-3c2a7e9d4b10"
        let keys = (0..<9).map { "syft:{default}:rpc:\(id):part\($0)" } + ["syft:{default}:queue:b@x.com:echo", "syft:{default}:idem", "syft:{default}:wakeups"]
        let params = String(repeating: "{\"a\":1,\"text\":\"hello\"}", count: 9)
        let args = [id, "a@x.com", "b@x.com", "echo", "add", params, "1764590000000", "30000", "pull", "", "0", "1", "traceparent-00-abc", "application/json", "3", "default"]
        evalsha = ["EVALSHA", "3f2a9c1e5b7d8f0a1c2e3b4d5f6a7b8c9d0e1f2a", String(keys.count)] + keys + args
        let fields = (0..<22).flatMap { n -> [RESPValue] in
            let value = n == 5 ? params : "value-\(n)-\(id)"
            return [.bulkString(Array("field_\(n)".utf8)), .bulkString(Array(value.utf8))]
        }
        recordValue = .array(fields)
    }

    func recordReply(allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 2048)
        guard case .array(let items) = recordValue else { return buffer }
        buffer.writeString("*\(items.count)\r\n")
        for item in items {
            let bytes = item.bytes ?? []
            buffer.writeString("$\(bytes.count)\r\n")
            buffer.writeBytes(bytes)
            buffer.writeString("\r\n")
        }
        return buffer
    }
}
