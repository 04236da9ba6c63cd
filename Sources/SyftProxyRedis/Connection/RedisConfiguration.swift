/// Where Redis is, how to log in, and how long to wait for it.
public struct RedisConfiguration: Sendable, Equatable {
    public var host: String
    public var port: Int
    /// Sent with the password as `AUTH user password` (Redis 6 ACLs) when set.
    public var username: String?
    /// Sent as `AUTH` on every new connection when set.
    public var password: String?
    /// Selected with `SELECT` on every new connection when not 0.
    public var database: Int
    /// A command whose reply is this late, counted from when Redis could have started on it,
    /// fails with `RedisError.timeout` and closes its connection: a hung Redis fails calls
    /// instead of hanging them.
    public var commandTimeout: Duration = .seconds(5)
    /// How long opening a TCP connection may take.
    public var connectTimeout: Duration = .seconds(2)
    /// TLS for every connection (`rediss://`); nil speaks plain TCP.
    public var tls: RedisTLS?

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// `host:port`, for messages.
    public var endpointDescription: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

extension RedisConfiguration: CustomStringConvertible {
    /// The URL without the password, safe to log.
    public var description: String {
        let credentials = switch (username, password) {
        case (let user?, _?): "\(user):***@"
        case (nil, _?): ":***@"
        case (let user?, nil): "\(user)@"
        case (nil, nil): ""
        }
        return "\(tls == nil ? "redis" : "rediss")://\(credentials)\(endpointDescription)/\(database)"
    }
}
