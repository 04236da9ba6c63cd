extension RedisConfiguration {
    /// Parses `redis://[[user]:password@]host[:port][/db]`, and `rediss://` for TLS (with
    /// `tls`, or the system's trust roots and hostname verification when nil). Percent-escapes
    /// in the user and password are decoded, so a password may contain `@` or `:` as `%40` and
    /// `%3A`. `redis://secret@host` is read as a password, the way `requirepass` setups write it.
    ///
    /// `redis://[[user]:password@]host1:port1,host2:port2[/0]` (and `rediss://`) names several
    /// nodes of one Redis Cluster as seeds (`clusterSeeds`); a cluster has database 0 only.
    ///
    /// `redis+sentinel://[[user]:password@]host1:26379,host2:26379/<master-name>[/db]` (and
    /// `rediss+sentinel://`) names sentinels instead; the credentials and TLS are the master's
    /// (sentinels are asked without a password).
    public init(url: String, tls: RedisTLS? = nil) throws {
        let schemes = ["redis://", "rediss://", "redis+sentinel://", "rediss+sentinel://"]
        guard let scheme = schemes.first(where: { url.hasPrefix($0) }) else {
            throw RedisError.invalidURL("'\(Self.redacted(url))' does not start with redis://, rediss://, redis+sentinel:// or rediss+sentinel://")
        }
        let secure = scheme.hasPrefix("rediss")
        let viaSentinels = scheme.contains("+sentinel")
        var rest = Substring(url.dropFirst(scheme.count))
        guard !rest.contains("?"), !rest.contains("#") else {
            throw RedisError.invalidURL("'\(Self.redacted(url))' has a query or fragment, which is not supported")
        }
        var username: String?
        var password: String?
        if let at = rest.lastIndex(of: "@") {
            let credentials = rest[..<at]
            rest = rest[rest.index(after: at)...]
            if let colon = credentials.firstIndex(of: ":") {
                let user = credentials[..<colon]
                username = user.isEmpty ? nil : Self.percentDecoded(user)
                password = Self.percentDecoded(credentials[credentials.index(after: colon)...])
            } else if !credentials.isEmpty {
                password = Self.percentDecoded(credentials)
            }
        }
        var database = 0
        if viaSentinels {
            try self.init(sentinelAuthorityAndPath: rest, url: url, username: username, password: password)
            if secure { self.tls = tls ?? RedisTLS() } else if tls != nil {
                throw RedisError.invalidURL("'\(Self.redacted(url))' is plain redis+sentinel:// but TLS settings are given; use rediss+sentinel:// for TLS")
            }
            return
        }
        if let slash = rest.firstIndex(of: "/") {
            let path = rest[rest.index(after: slash)...]
            rest = rest[..<slash]
            if !path.isEmpty {
                guard let number = Int(path), number >= 0 else {
                    throw RedisError.invalidURL("database '\(path)' in '\(Self.redacted(url))' is not a number 0 or more")
                }
                database = number
            }
        }
        if rest.contains(",") {
            // Several nodes of one Redis Cluster: any that answers describes the rest.
            var seeds: [RedisEndpoint] = []
            for authority in rest.split(separator: ",", omittingEmptySubsequences: false) {
                guard !authority.isEmpty else { throw RedisError.invalidURL("'\(Self.redacted(url))' has an empty entry in its host list") }
                let (host, port) = try Self.hostAndPort(authority, url: url)
                seeds.append(RedisEndpoint(host: host, port: port))
            }
            guard database == 0 else {
                throw RedisError.invalidURL("'\(Self.redacted(url))' names several hosts, i.e. a Redis Cluster, which has only database 0: remove /\(database) from the URL")
            }
            self.init(host: seeds[0].host, port: seeds[0].port, username: username, password: password, database: 0)
            self.clusterSeeds = seeds
        } else {
            let (host, port) = try Self.hostAndPort(rest, url: url)
            self.init(host: host, port: port, username: username, password: password, database: database)
        }
        if secure {
            self.tls = tls ?? RedisTLS()
        } else if tls != nil {
            throw RedisError.invalidURL("'\(Self.redacted(url))' is plain redis:// but TLS settings are given; use rediss:// for TLS")
        }
    }

    /// `host1:26379,host2:26379/<master-name>[/db]`.
    private init(sentinelAuthorityAndPath rest: Substring, url: String, username: String?, password: String?) throws {
        guard let slash = rest.firstIndex(of: "/") else {
            throw RedisError.invalidURL("'\(Self.redacted(url))' names no master: add /<master-name> after the sentinels")
        }
        let path = rest[rest.index(after: slash)...].split(separator: "/", omittingEmptySubsequences: false)
        guard let name = path.first, !name.isEmpty, path.count <= 2 else {
            throw RedisError.invalidURL("'\(Self.redacted(url))' must end in /<master-name> or /<master-name>/<db>")
        }
        var database = 0
        if path.count == 2 {
            guard let number = Int(path[1]), number >= 0 else {
                throw RedisError.invalidURL("database '\(path[1])' in '\(Self.redacted(url))' is not a number 0 or more")
            }
            database = number
        }
        var sentinels: [RedisSentinel.Endpoint] = []
        for authority in rest[..<slash].split(separator: ",", omittingEmptySubsequences: false) {
            guard !authority.isEmpty else { throw RedisError.invalidURL("'\(Self.redacted(url))' has an empty entry in its sentinel list") }
            let (host, port) = try Self.hostAndPort(authority, url: url, defaultPort: 26379)
            sentinels.append(RedisSentinel.Endpoint(host: host, port: port))
        }
        guard let first = sentinels.first else { throw RedisError.invalidURL("'\(Self.redacted(url))' names no sentinel") }
        self.init(host: first.host, port: first.port, username: username, password: password, database: database)
        self.sentinel = RedisSentinel(sentinels: sentinels, masterName: String(name))
    }

    private static func hostAndPort(_ authority: Substring, url: String, defaultPort: Int = 6379) throws -> (String, Int) {
        var host = authority
        var portText: Substring?
        if authority.hasPrefix("[") {
            // An IPv6 literal: [::1]:6379
            guard let close = authority.firstIndex(of: "]") else {
                throw RedisError.invalidURL("'\(redacted(url))' has an IPv6 address without its closing ']'")
            }
            host = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.hasPrefix(":") { portText = after.dropFirst() } else if !after.isEmpty {
                throw RedisError.invalidURL("'\(redacted(url))' has '\(after)' after the IPv6 address")
            }
        } else if let colon = authority.lastIndex(of: ":") {
            host = authority[..<colon]
            portText = authority[authority.index(after: colon)...]
        }
        guard !host.isEmpty else { throw RedisError.invalidURL("'\(redacted(url))' names no host") }
        guard let portText else { return (String(host), defaultPort) }
        guard let port = Int(portText), (1...65535).contains(port) else {
            throw RedisError.invalidURL("port '\(portText)' in '\(redacted(url))' is not a number from 1 to 65535")
        }
        return (String(host), port)
    }

    /// The URL with any password replaced, so an error message never leaks it.
    private static func redacted(_ url: String) -> String {
        guard let schemeEnd = url.firstRange(of: "://")?.upperBound, let at = url.lastIndex(of: "@"), at > schemeEnd else { return url }
        var result = url
        let secretStart = url[schemeEnd..<at].firstIndex(of: ":").map { url.index(after: $0) } ?? schemeEnd
        result.replaceSubrange(secretStart..<at, with: "***")
        return result
    }

    private static func percentDecoded(_ text: Substring) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else {
                bytes.append(byte)
                continue
            }
            let high = iterator.next()
            let low = iterator.next()
            if let high, let low, let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16) {
                bytes.append(value)
            } else {
                // Not an escape: keep the characters as written.
                bytes.append(byte)
                if let high { bytes.append(high) }
                if let low { bytes.append(low) }
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
