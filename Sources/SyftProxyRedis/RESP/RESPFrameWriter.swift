import NIOCore

/// Writes a RESP array of bulk strings into a buffer sized for it up front, so the frame is
/// allocated once and never grows. The byte layout is hiredis' `redisFormatCommandArgv`'s,
/// which the tests check byte for byte.
struct RESPFrameWriter {
    private(set) var buffer: ByteBuffer
    let count: Int
    private(set) var nameOffset = 0
    private(set) var nameLength = 0
    private var written = 0

    /// Frames come from the system allocator whatever connection writes them; a command is
    /// built before it knows its connection.
    private static let allocator = ByteBufferAllocator()

    init(size: Int, count: Int) {
        self.count = count
        buffer = Self.allocator.buffer(capacity: size)
        buffer.writeLengthLine(marker: UInt8(ascii: "*"), count)
    }

    static func headerSize(count: Int) -> Int { 3 + count.decimalDigits }

    static func size(ofBulk length: Int) -> Int { 5 + length.decimalDigits + length }

    mutating func append(_ argument: String) {
        let length = argument.utf8.count
        startArgument(length: length)
        buffer.writeString(argument)
        buffer.writeCRLF()
    }

    mutating func append(_ argument: [UInt8]) {
        startArgument(length: argument.count)
        buffer.writeBytes(argument)
        buffer.writeCRLF()
    }

    private mutating func startArgument(length: Int) {
        buffer.writeLengthLine(marker: UInt8(ascii: "$"), length)
        if written == 0 {
            nameOffset = buffer.writerIndex - buffer.readerIndex
            nameLength = length
        }
        written += 1
    }

    /// The arguments of a frame this writer produced. A frame it did not produce (which
    /// cannot happen through `RedisCommand`) reads as far as it is well formed.
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
    /// `*N\r\n` or `$N\r\n`, written in place: a String for the digits would cost an allocation
    /// per argument.
    fileprivate mutating func writeLengthLine(marker: UInt8, _ value: Int) {
        let digits = value.decimalDigits
        // Exactly what the line needs: asking for more would grow a buffer sized to the byte.
        writeWithUnsafeMutableBytes(minimumWritableBytes: digits + 3) { out in
            out[0] = marker
            var rest = value
            var index = digits
            repeat {
                out[index] = UInt8(truncatingIfNeeded: 48 + rest % 10)
                rest /= 10
                index -= 1
            } while index > 0
            out[digits + 1] = 13
            out[digits + 2] = 10
            return digits + 3
        }
    }

    fileprivate mutating func writeCRLF() {
        writeInteger(UInt16(0x0D0A), endianness: .big)
    }

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
