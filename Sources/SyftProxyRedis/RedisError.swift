/// What can go wrong talking to Redis, each with what to do about it.
public enum RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No connection is up; calls fail at once instead of queueing behind a reconnect.
    case unavailable(String)
    /// Redis answered with an error reply.
    case server(String)
    /// The bytes from Redis were not valid RESP.
    case protocolError(String)
    /// Redis did not answer in time; the connection was closed.
    case timeout(String)
    case connectionClosed(String)
    case invalidURL(String)

    public var description: String {
        switch self {
        case .unavailable(let detail): "Redis is unreachable: \(detail); check that it runs and PROXY_REDIS_URL points at it"
        case .server(let message): "Redis error: \(message)"
        case .protocolError(let detail): "Redis protocol error: \(detail)"
        case .timeout(let detail): "Redis did not answer in time: \(detail)"
        case .connectionClosed(let detail): "Redis connection closed: \(detail)"
        case .invalidURL(let detail): "invalid Redis URL: \(detail); expected redis://[:password@]host[:port][/db], e.g. redis://127.0.0.1:6379/0"
        }
    }
}
