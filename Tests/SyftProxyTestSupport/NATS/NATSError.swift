/// What went wrong talking to nats-server, each case saying what to check.
public enum NATSError: Error, CustomStringConvertible, Equatable {
    /// The server sent bytes that are not NATS protocol: the line, quoted, and why.
    case malformed(String)
    /// The server answered `-ERR`; it closes the connection after most of them.
    case server(String)
    case connectionClosed(String)
    case timedOut(String)
    /// A subject the protocol cannot carry (empty, or with whitespace).
    case invalidSubject(String)

    public var description: String {
        switch self {
        case .malformed(let reason): "malformed NATS protocol from the server: \(reason)"
        case .server(let message): "nats-server answered -ERR \(message)"
        case .connectionClosed(let endpoint): "the connection to nats-server at \(endpoint) closed; check that the server still runs"
        case .timedOut(let what): "timed out: \(what)"
        case .invalidSubject(let subject): "invalid NATS subject '\(subject)': it must be non-empty, without spaces, tabs or line breaks"
        }
    }
}
