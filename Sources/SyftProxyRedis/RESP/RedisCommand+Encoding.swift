import CHiredis
import NIOCore

extension RedisCommand {
    /// The command as RESP, formatted by hiredis' `redisFormatCommandArgv` and copied once
    /// into a buffer of exactly the right size.
    func encode(allocator: ByteBufferAllocator) throws -> ByteBuffer {
        let count = lengths.count
        guard count > 0 else {
            throw RedisError.invalidCommand("a command needs at least its name, e.g. RedisCommand(\"PING\")")
        }
        guard count <= Int(Int32.max) else { throw RedisError.invalidCommand("\(count) arguments are more than hiredis accepts") }
        return try storage.withUnsafeBufferPointer { bytes in
            // Small commands keep the pointer and length tables on the stack.
            try withUnsafeTemporaryAllocation(of: UnsafePointer<CChar>?.self, capacity: count) { pointers in
                try withUnsafeTemporaryAllocation(of: Int.self, capacity: count) { sizes in
                    guard let base = UnsafeRawPointer(bytes.baseAddress) else {
                        throw RedisError.invalidCommand("\(name) has no argument storage")
                    }
                    var offset = 0
                    for (index, length) in lengths.enumerated() {
                        pointers.initializeElement(at: index, to: (base + offset).assumingMemoryBound(to: CChar.self))
                        sizes.initializeElement(at: index, to: length)
                        offset += length
                    }
                    var formatted: UnsafeMutablePointer<CChar>?
                    let length = redisFormatCommandArgv(&formatted, Int32(count), pointers.baseAddress, sizes.baseAddress)
                    guard length > 0, let formatted else {
                        throw RedisError.invalidCommand("hiredis could not format \(name) (out of memory?)")
                    }
                    defer { redisFreeCommand(formatted) }
                    var buffer = allocator.buffer(capacity: Int(length))
                    buffer.writeBytes(UnsafeRawBufferPointer(start: formatted, count: Int(length)))
                    return buffer
                }
            }
        }
    }
}
