import NIOCore

/// Cuts the server's byte stream into frames. Reads end anywhere, so a frame may arrive in
/// pieces or several in one read: bytes of an incomplete frame stay buffered until the rest comes.
public struct NATSFrameReader: Sendable {
    /// nats-server's own control lines are short, but INFO grows with cluster URLs; beyond this
    /// the peer is not speaking NATS, and buffering more would only hide that.
    public static let maximumLineLength = 64 * 1024
    /// nats-server's max_payload is 1 MiB by default and 64 MiB at most.
    public static let maximumPayload = 64 * 1024 * 1024

    private var buffer: ByteBuffer?

    public init() {}

    public mutating func append(_ bytes: ByteBuffer) {
        // Taken out of `buffer` before writing, so that the write does not copy the storage.
        guard var pending = buffer, pending.readableBytes > 0 else {
            buffer = bytes
            return
        }
        buffer = nil
        pending.writeImmutableBuffer(bytes)
        buffer = pending
    }

    /// The next complete frame, or nil until more bytes arrive. Throws `NATSError.malformed`
    /// on a line that is not NATS; the stream cannot be resynchronised after that.
    public mutating func next() throws(NATSError) -> NATSFrame? {
        guard var bytes = buffer, bytes.readableBytes > 0 else { return nil }
        buffer = nil
        defer { buffer = bytes.readableBytes > 0 ? bytes : nil }
        // Only a complete frame is consumed: on nil, every byte stays for the next read.
        guard let frame = try Self.parse(&bytes) else { return nil }
        // Keeps a long run of back-to-back frames from growing the buffer.
        if bytes.readerIndex > 64 * 1024 { bytes.discardReadBytes() }
        return frame
    }

    private static func parse(_ bytes: inout ByteBuffer) throws(NATSError) -> NATSFrame? {
        let view = bytes.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if view.count > maximumLineLength { throw .malformed("a line longer than \(maximumLineLength) bytes") }
            return nil
        }
        let lineLength = newline - view.startIndex
        guard lineLength > 0, view[newline - 1] == UInt8(ascii: "\r") else {
            throw .malformed("a line not ended by CRLF: \(quoted(view[view.startIndex..<newline]))")
        }
        let line = view[view.startIndex..<(newline - 1)]
        let fields = line.split(omittingEmptySubsequences: true) { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }
        guard let verb = fields.first.map({ String(decoding: $0, as: UTF8.self).uppercased() }) else {
            throw .malformed("an empty line")
        }
        let frameStart = bytes.readerIndex
        let afterLine = frameStart + lineLength + 1
        let frame: NATSFrame
        switch verb {
        case "MSG":
            guard let message = try parseMessage(fields, line: line, bytes: bytes, payloadAt: afterLine) else { return nil }
            bytes.moveReaderIndex(to: afterLine + message.payload.readableBytes + 2)
            return .message(message)
        case "PING" where fields.count == 1: frame = .ping
        case "PONG" where fields.count == 1: frame = .pong
        case "+OK" where fields.count == 1: frame = .ok
        case "INFO" where fields.count > 1:
            frame = .info(String(decoding: line[fields[1].startIndex...], as: UTF8.self))
        case "-ERR":
            let text = fields.count > 1 ? String(decoding: line[fields[1].startIndex...], as: UTF8.self) : ""
            frame = .error(text.trimmingQuotes)
        default:
            throw .malformed("unexpected line \(quoted(line))")
        }
        bytes.moveReaderIndex(to: afterLine)
        return frame
    }

    /// `MSG <subject> <sid> [reply-to] <#bytes>`, then the payload and CRLF; nil while the
    /// payload is still incomplete.
    private static func parseMessage(
        _ fields: [ByteBufferView.SubSequence], line: ByteBufferView.SubSequence, bytes: ByteBuffer, payloadAt start: Int
    ) throws(NATSError) -> NATSMessage? {
        guard fields.count == 4 || fields.count == 5 else {
            throw .malformed("MSG needs a subject, a sid, an optional reply-to and a size: \(quoted(line))")
        }
        guard let sid = UInt64(String(decoding: fields[2], as: UTF8.self)) else {
            throw .malformed("MSG sid is not a number: \(quoted(line))")
        }
        guard let size = Int(String(decoding: fields[fields.count - 1], as: UTF8.self)), size >= 0, size <= maximumPayload else {
            throw .malformed("MSG size is not a number from 0 to \(maximumPayload): \(quoted(line))")
        }
        let end = start + size
        guard bytes.writerIndex >= end + 2 else { return nil }
        guard bytes.getInteger(at: end, as: UInt16.self) == 0x0D0A else {  // CR LF
            throw .malformed("the \(size)-byte payload of \(quoted(line)) is not followed by CRLF")
        }
        guard let payload = bytes.getSlice(at: start, length: size) else { return nil }
        return NATSMessage(
            subject: String(decoding: fields[1], as: UTF8.self), sid: sid,
            replyTo: fields.count == 5 ? String(decoding: fields[3], as: UTF8.self) : nil, payload: payload)
    }

    private static func quoted(_ line: ByteBufferView.SubSequence) -> String {
        let text = String(decoding: line.prefix(200), as: UTF8.self)
        return "'\(text)\(line.count > 200 ? "…" : "")'"
    }
}

extension String {
    /// -ERR texts come single-quoted: `-ERR 'Unknown Protocol Operation'`.
    fileprivate var trimmingQuotes: String {
        count >= 2 && hasPrefix("'") && hasSuffix("'") ? String(dropFirst().dropLast()) : self
    }
}
