import CHiredis
import NIOCore

/// One command and its arguments, binary safe.
public struct RedisCommand: Sendable {
    public var arguments: [[UInt8]]

    public init(_ arguments: String...) { self.arguments = arguments.map { Array($0.utf8) } }
    public init(_ arguments: [String]) { self.arguments = arguments.map { Array($0.utf8) } }
    public init(arguments: [[UInt8]]) { self.arguments = arguments }

    /// The RESP bytes, formatted by hiredis (`redisFormatCommandArgv`).
    func encode(into buffer: inout ByteBuffer) throws {
        // hiredis wants an array of pointers; laying all arguments out in one buffer gives
        // them stable addresses for the duration of the call with a single allocation.
        var joined: [UInt8] = []
        joined.reserveCapacity(arguments.reduce(0) { $0 + $1.count })
        var lengths: [Int] = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            joined.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        if joined.isEmpty { joined.append(0) }
        let count = arguments.count
        let written: Int32 = joined.withUnsafeBufferPointer { bytes in
            guard let base = bytes.baseAddress else { return -1 }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) { chars in
                var pointers: [UnsafePointer<CChar>?] = []
                pointers.reserveCapacity(count)
                var offset = 0
                for length in lengths {
                    pointers.append(chars + offset)
                    offset += length
                }
                var target: UnsafeMutablePointer<CChar>?
                let length = lengths.withUnsafeBufferPointer { lengthBuffer in
                    pointers.withUnsafeMutableBufferPointer { pointerBuffer in
                        redisFormatCommandArgv(&target, Int32(count), pointerBuffer.baseAddress, lengthBuffer.baseAddress)
                    }
                }
                guard length > 0, let target else { return -1 }
                defer { redisFreeCommand(target) }
                buffer.writeBytes(UnsafeRawBufferPointer(start: target, count: Int(length)))
                return length
            }
        }
        guard written > 0 else { throw RedisError.protocolError("hiredis could not format the command") }
    }
}
