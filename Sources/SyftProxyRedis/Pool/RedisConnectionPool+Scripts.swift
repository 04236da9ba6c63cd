extension RedisConnectionPool {
    /// Runs a Lua script by its SHA1 (`EVALSHA`), sending the source (`EVAL`) only when Redis
    /// does not know it, as after a restart or `SCRIPT FLUSH`. EVAL also caches the script, so
    /// later calls go back to the short form. Behind Sentinel it follows a failover (see
    /// ``followingFailover(_:)``).
    public func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        try await followingFailover { try await evalOnce(script, keys: keys, args: args) }
    }

    private func evalOnce(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        var arguments: [String] = ["EVALSHA", script.sha1, String(keys.count)]
        arguments.reserveCapacity(3 + keys.count + args.count)
        arguments.append(contentsOf: keys)
        arguments.append(contentsOf: args)
        let connection = try connection()
        do {
            return try await connection.send(RedisCommand(arguments))
        } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
            arguments[0] = "EVAL"
            arguments[1] = script.source
            return try await connection.send(RedisCommand(arguments))
        }
    }
}
