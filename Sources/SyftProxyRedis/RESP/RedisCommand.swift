import NIOCore

/// One command and its arguments, binary safe, held as the RESP frame Redis reads:
/// `*N\r\n`, then `$len\r\n<bytes>\r\n` per argument.
///
/// Building the command is the arguments' only copy on their way to the socket: the
/// connection writes this buffer as it is, and a command sent again (a cluster redirect,
/// `ASKING`) shares it.
public struct RedisCommand: Sendable {
    /// Never read from, so every send sees the whole frame.
    let frame: ByteBuffer
    /// The argument count, the name included.
    let count: Int
    /// Where the name's bytes start in the frame, and how many there are: logs name the
    /// command without parsing the frame.
    private let nameOffset: Int
    private let nameLength: Int

    public init(_ arguments: String...) { self.init(arguments) }

    public init(_ arguments: [String]) {
        var size = RESPFrameWriter.headerSize(count: arguments.count)
        for argument in arguments { size += RESPFrameWriter.size(ofBulk: argument.utf8.count) }
        self.init(RESPFrameWriter.frame(size: size, count: arguments.count) { writer in
            for argument in arguments { writer.append(argument) }
        }, count: arguments.count)
    }

    public init(arguments: [[UInt8]]) {
        var size = RESPFrameWriter.headerSize(count: arguments.count)
        for argument in arguments { size += RESPFrameWriter.size(ofBulk: argument.count) }
        self.init(RESPFrameWriter.frame(size: size, count: arguments.count) { writer in
            for argument in arguments { writer.append(argument) }
        }, count: arguments.count)
    }

    private init(_ frame: (buffer: ByteBuffer, nameOffset: Int, nameLength: Int), count: Int) {
        self.frame = frame.buffer
        self.count = count
        nameOffset = frame.nameOffset
        nameLength = frame.nameLength
    }

    /// The arguments, each as its own byte array, read back from the frame: for tests and
    /// diagnostics, not the send path.
    public var arguments: [[UInt8]] {
        RESPFrameWriter.arguments(in: frame, count: count)
    }

    /// The command name, for logs and error messages (never the arguments, which may be secrets).
    public var name: String {
        frame.getString(at: frame.readerIndex + nameOffset, length: nameLength) ?? ""
    }
}
