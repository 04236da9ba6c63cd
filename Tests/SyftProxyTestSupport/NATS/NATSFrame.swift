import NIOCore

/// One message or control line from nats-server.
public enum NATSFrame: Equatable, Sendable {
    /// The server's INFO JSON, unparsed: nothing here depends on its fields.
    case info(String)
    case message(NATSMessage)
    case ping
    case pong
    case ok
    case error(String)
}

/// A `MSG subject sid [reply-to] n` delivery.
public struct NATSMessage: Equatable, Sendable {
    public var subject: String
    public var sid: UInt64
    public var replyTo: String?
    public var payload: ByteBuffer

    public init(subject: String, sid: UInt64, replyTo: String?, payload: ByteBuffer) {
        self.subject = subject
        self.sid = sid
        self.replyTo = replyTo
        self.payload = payload
    }
}
