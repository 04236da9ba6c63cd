import NIOCore
import SyftProxyTestSupport
import Testing

/// The frame reader on bytes as a socket may deliver them: in pieces, in bunches, or wrong.
@Suite struct NATSFrameReaderTests {
    static let stream = "INFO {\"server_id\":\"x\",\"max_payload\":1048576}\r\n"
        + "MSG bench.echo 1 _INBOX.abc.7 5\r\nhello\r\n"
        + "PING\r\n"
        + "MSG _INBOX.abc.8 2 0\r\n\r\n"
        + "MSG a.b 3 10\r\nline\r\nbrk\r\r\n"
        + "+OK\r\n"
        + "-ERR 'Authorization Violation'\r\n"

    static let expected: [NATSFrame] = [
        .info("{\"server_id\":\"x\",\"max_payload\":1048576}"),
        .message(NATSMessage(subject: "bench.echo", sid: 1, replyTo: "_INBOX.abc.7", payload: ByteBuffer(string: "hello"))),
        .ping,
        .message(NATSMessage(subject: "_INBOX.abc.8", sid: 2, replyTo: nil, payload: ByteBuffer())),
        // A payload may hold CRLF: only the size says where it ends.
        .message(NATSMessage(subject: "a.b", sid: 3, replyTo: nil, payload: ByteBuffer(string: "line\r\nbrk\r"))),
        .ok,
        .error("Authorization Violation"),
    ]

    @Test func byteByByte() throws {
        var reader = NATSFrameReader()
        var frames: [NATSFrame] = []
        for byte in Self.stream.utf8 {
            reader.append(ByteBuffer(bytes: [byte]))
            while let frame = try reader.next() { frames.append(frame) }
        }
        #expect(frames == Self.expected)
    }

    @Test func allInOneRead() throws {
        var reader = NATSFrameReader()
        reader.append(ByteBuffer(string: Self.stream))
        var frames: [NATSFrame] = []
        while let frame = try reader.next() { frames.append(frame) }
        #expect(frames == Self.expected)
        #expect(try reader.next() == nil)
    }

    @Test func everySplitIntoTwoReads() throws {
        // Splits at every offset into two reads: each boundary a socket could produce.
        let bytes = Array(Self.stream.utf8)
        for split in 1..<bytes.count {
            var reader = NATSFrameReader()
            var frames: [NATSFrame] = []
            for part in [bytes[..<split], bytes[split...]] {
                reader.append(ByteBuffer(bytes: part))
                while let frame = try reader.next() { frames.append(frame) }
            }
            #expect(frames == Self.expected, "split at \(split)")
        }
    }

    @Test(arguments: [
        "MSG bench.echo 1 notanumber\r\nhello\r\n",
        "MSG bench.echo x 5\r\nhello\r\n",
        "MSG bench.echo\r\n",
        "MSG bench.echo 1 3\r\nhello\r\n",
        "WAT\r\n",
        "PING\n",
        "HMSG a 1 12 14\r\nNATS/1.0\r\n\r\nhi\r\n",
    ])
    func malformed(frame: String) {
        var reader = NATSFrameReader()
        reader.append(ByteBuffer(string: frame))
        let error = #expect(throws: NATSError.self) { while try reader.next() != nil {} }
        guard case .malformed? = error else {
            Issue.record("expected a malformed-protocol error, got \(String(describing: error))")
            return
        }
    }

    @Test func unendedLineIsBounded() {
        var reader = NATSFrameReader()
        reader.append(ByteBuffer(repeating: UInt8(ascii: "A"), count: NATSFrameReader.maximumLineLength + 1))
        #expect(throws: NATSError.malformed("a line longer than \(NATSFrameReader.maximumLineLength) bytes")) { try reader.next() }
    }
}
