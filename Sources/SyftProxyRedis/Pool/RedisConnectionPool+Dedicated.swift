extension RedisConnectionPool {
    /// Runs `body` on a connection of its own, closed afterwards: for commands that must not
    /// share the pipelined connections, such as blocking pops, `WATCH`/`MULTI` transactions or
    /// `MONITOR`. Fails at once with `RedisError.unavailable` while the pool has no connection up.
    public func withDedicatedConnection<Result>(
        isolation: isolated (any Actor)? = #isolation,
        _ body: (RedisConnection) async throws -> Result
    ) async throws -> Result {
        // The pool's view of Redis decides, so a dead Redis fails fast rather than after a
        // connect timeout.
        _ = try connection()
        let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
        do {
            let result = try await body(connection)
            await connection.close()
            return result
        } catch {
            await connection.close()
            throw error
        }
    }
}
