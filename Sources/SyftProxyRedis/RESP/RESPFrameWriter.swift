import NIOCore

/// Writes a RESP array of bulk strings into memory sized for it up front: the frame is
/// allocated once, never grows, and each argument is one `memcpy`. The byte layout is
/// hiredis' `redisFormatCommandArgv`'s, which the tests check byte for byte.
struct RESPFrameWriter {
    private let out: UnsafeMutableRawBufferPointer
    private(set) var position = 0
    private(set) var nameOffset = 0
    private(set) var nameLength = 0

    /// Frames come from the system allocator whatever connection writes them: a command is
    /// built before it knows its connection.
    private static let allocator = ByteBufferAllocator()

    private init(_ out: UnsafeMutableRawBufferPointer) { self.out = out }

    static func headerSize(count: Int) -> Int { 3 + count.decimalDigits }

    static func size(ofBulk length: Int) -> Int { 5 + length.decimalDigits + length }

    /// A buffer holding exactly the frame `body` writes after the `*count` header; `size` is
    /// what `headerSize` and `size(ofBulk:)` add up to for the same arguments.
    static func frame(size: Int, count: Int, _ body: (inout RESPFrameWriter) -> Void) -> (buffer: ByteBuffer, nameOffset: Int, nameLength: Int) {
        var buffer = allocator.buffer(capacity: size)
        var name = (offset: 0, length: 0)
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
            // Never past what was sized, even if a caller's sum were wrong.
            var writer = RESPFrameWriter(UnsafeMutableRawBufferPointer(rebasing: out.prefix(size)))
            writer.writeLengthLine(marker: UInt8(ascii: "*"), count)
            body(&writer)
            name = (writer.nameOffset, writer.nameLength)
            return writer.position
        }
        return (buffer, name.offset, name.length)
    }

    mutating func append(_ argument: String) {
        var argument = argument
        // Native strings are contiguous UTF-8 already; withUTF8 copies only one that is not.
        argument.withUTF8 { append(UnsafeRawBufferPointer($0)) }
    }

    mutating func append(_ argument: [UInt8]) {
        argument.withUnsafeBytes { append($0) }
    }

    private mutating func append(_ bytes: UnsafeRawBufferPointer) {
        writeLengthLine(marker: UInt8(ascii: "$"), bytes.count)
        // The header comes first, so offset 0 means no argument yet: this one is the name.
        if nameOffset == 0 {
            nameOffset = position
            nameLength = bytes.count
        }
        guard position + bytes.count + 2 <= out.count else { return }
        if !bytes.isEmpty {
            UnsafeMutableRawBufferPointer(rebasing: out[position..<position + bytes.count]).copyMemory(from: bytes)
        }
        position += bytes.count
        writeCRLF()
    }

    /// `*N\r\n` or `$N\r\n`, digits written in place: a String for them would cost an
    /// allocation per argument.
    private mutating func writeLengthLine(marker: UInt8, _ value: Int) {
        let digits = value.decimalDigits
        guard position + digits + 3 <= out.count else { return }
        out[position] = marker
        var rest = value
        var index = position + digits
        repeat {
            out[index] = UInt8(truncatingIfNeeded: 48 + rest % 10)
            rest /= 10
            index -= 1
        } while index > position
        position += digits + 1
        writeCRLF()
    }

    private mutating func writeCRLF() {
        guard position + 2 <= out.count else { return }
        out[position] = 13
        out[position + 1] = 10
        position += 2
    }

    /// The arguments of a frame this writer produced, read back; a frame it did not produce
    /// (which `RedisCommand` never holds) reads as far as it is well formed.
    static func arguments(in frame: ByteBuffer, count: Int) -> [[UInt8]] {
        var reader = frame
        var arguments: [[UInt8]] = []
        arguments.reserveCapacity(count)
        guard reader.readLengthLine(marker: UInt8(ascii: "*")) != nil else { return arguments }
        for _ in 0..<count {
            guard let length = reader.readLengthLine(marker: UInt8(ascii: "$")),
                let bytes = reader.readBytes(length: length),
                reader.readBytes(length: 2) != nil
            else { break }
            arguments.append(bytes)
        }
        return arguments
    }
}

extension Int {
    /// Digits in the decimal form of a non-negative count.
    fileprivate var decimalDigits: Int {
        var digits = 1
        var rest = self / 10
        while rest > 0 {
            digits += 1
            rest /= 10
        }
        return digits
    }
}

extension ByteBuffer {
    fileprivate mutating func readLengthLine(marker: UInt8) -> Int? {
        guard readInteger(as: UInt8.self) == marker else { return nil }
        var value = 0
        while let byte = readInteger(as: UInt8.self) {
            if byte == 13 { return readInteger(as: UInt8.self) == 10 ? value : nil }
            guard (48...57).contains(byte) else { return nil }
            value = value &* 10 &+ Int(byte - 48)
        }
        return nil
    }
}
