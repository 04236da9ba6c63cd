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
    /// Commands one connection may have written or queued and not yet answered; one more
    /// fails at once with `RedisError.unavailable` saying the connection is saturated, rather
    /// than piling up behind a Redis that cannot keep up.
    public var maximumPendingCommands = Self.defaultMaximumPendingCommands
    public static let defaultMaximumPendingCommands = 4096
    /// How long opening a TCP connection may take.
    public var connectTimeout: Duration = .seconds(2)
    /// TLS for every connection (`rediss://`); nil speaks plain TCP.
    public var tls: RedisTLS?
    /// Set when the URL names sentinels (`redis+sentinel://`): `host` and `port` are then the
    /// first sentinel's, and each connect asks the sentinels for the master.
    public var sentinel: RedisSentinel?
    /// Set when the URL names several hosts (`redis://h1:p1,h2:p2`): nodes of one Redis
    /// Cluster, any of which describes the rest. `host` and `port` are then the first one's.
    public var clusterSeeds: [RedisEndpoint] = []

    public init(host: String, port: Int = 6379, username: String? = nil, password: String? = nil, database: Int = 0) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
    }

    /// `host:port`, for messages.
    public var endpointDescription: String {
        if let sentinel {
            return "master '\(sentinel.masterName)' of the sentinels \(sentinel.sentinels.map(\.description).joined(separator: ","))"
        }
        if clusterSeeds.count > 1 { return clusterSeeds.map(\.description).joined(separator: ",") }
        return host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }
}

/// A host and port.
public typealias RedisEndpoint = RedisSentinel.Endpoint

extension RedisConfiguration: CustomStringConvertible {
    /// The URL without the password, safe to log.
    public var description: String {
        let credentials = switch (username, password) {
        case (let user?, _?): "\(user):***@"
        case (nil, _?): ":***@"
        case (let user?, nil): "\(user)@"
        case (nil, nil): ""
        }
        let scheme = (tls == nil ? "redis" : "rediss") + (sentinel == nil ? "" : "+sentinel")
        if let sentinel {
            return "\(scheme)://\(credentials)\(sentinel.sentinels.map(\.description).joined(separator: ","))/\(sentinel.masterName)/\(database)"
        }
        return "\(scheme)://\(credentials)\(endpointDescription)/\(database)"
    }
}
