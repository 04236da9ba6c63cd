/// What can go wrong talking to Redis; each description says what happened and what to do.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection is up; calls fail at once instead of queueing behind a reconnect.
    case unavailable(String)
    /// Redis answered with an error reply; the connection is fine.
    case server(String)
    /// The bytes from the server were not valid RESP; the connection was closed.
    case protocolError(String)
    /// Redis did not answer in time; the connection was closed.
    case timeout(String)
    /// The connection closed before the reply came.
    case connectionClosed(String)
    case invalidURL(String)
    /// The TLS settings cannot be used (a file missing or not PEM).
    case invalidTLS(String)
    /// The command cannot be sent at all (no name, or too many arguments).
    case invalidCommand(String)

    public var description: String {
        switch self {
        case .unavailable(let detail):
            "\(detail); check that Redis is running and that the configured Redis URL points at it. Calls fail at once until a connection is back, which happens by itself"
        case .server(let message):
            "Redis refused the command: \(message)"
        case .protocolError(let detail):
            "Redis protocol error: \(detail); the connection was closed. Check that the Redis URL points at a Redis server speaking RESP2 and not at another service"
        case .timeout(let detail):
            "Redis did not answer in time: \(detail); the connection was closed. Redis may be overloaded or hung; the command may or may not have run"
        case .connectionClosed(let detail):
            "\(detail); the command may or may not have run, so retry only if it is safe to run twice"
        case .invalidURL(let detail):
            "invalid Redis URL: \(detail); expected redis://[[user]:password@]host[:port][/db], e.g. redis://127.0.0.1:6379/0 or redis://:secret@redis.internal:6379"
        case .invalidTLS(let detail):
            "invalid Redis TLS settings: \(detail); check PROXY_REDIS_TLS_CA_FILE, PROXY_REDIS_TLS_CERT_FILE and PROXY_REDIS_TLS_KEY_FILE"
        case .invalidCommand(let detail):
            "invalid Redis command: \(detail)"
        }
    }
}

extension RedisError {
    private static let saturationMark = " is saturated: "

    /// A connection refusing more commands than `RedisConfiguration.maximumPendingCommands`.
    static func saturated(endpoint: String, pending: Int, limit: Int) -> RedisError {
        .unavailable(
            "the connection to Redis at \(endpoint)\(saturationMark)\(pending) commands are pending, the limit is \(limit) (RedisConfiguration.maximumPendingCommands); Redis answers slower than calls arrive"
        )
    }

    /// Saturation is not retried: trying again only adds to the load.
    var isSaturation: Bool {
        if case .unavailable(let detail) = self { detail.contains(Self.saturationMark) } else { false }
    }
}
