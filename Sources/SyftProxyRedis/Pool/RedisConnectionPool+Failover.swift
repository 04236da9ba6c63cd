extension RedisConnectionPool {
    /// Behind Sentinel, a master demoted by a failover refuses writes with `READONLY` without
    /// running them, and that reply closes the connection (so the next connect asks the
    /// sentinels). Such a command is sent again, within the command timeout, once the pool
    /// reaches the master the sentinels name now; so is any command that finds no connection up
    /// while that may be going on (within a command timeout of the last `READONLY` or dropped
    /// connection), since none of them was written. Away from a failover, a pool with no
    /// connection still fails at once. Anything that may have run (a timeout, a connection lost after the write)
    /// is never sent twice.
    func followingFailover(_ body: () async throws -> RESPValue) async throws -> RESPValue {
        guard configuration.sentinel != nil else { return try await body() }
        let clock = ContinuousClock()
        let deadline = clock.now + configuration.commandTimeout
        var delay = Duration.milliseconds(20)
        while true {
            do {
                return try await body()
            } catch let error as RedisError {
                let now = clock.now
                switch error {
                case .server(let message) where message.hasPrefix("READONLY"):
                    failoverSuspectedAt.withLock { $0 = now }
                case .unavailable:
                    let failingOver = failoverSuspectedAt.withLock { $0.map { now - $0 < configuration.commandTimeout } ?? false }
                    guard failingOver else { throw error }
                default:
                    throw error
                }
                guard clock.now + delay < deadline else { throw error }
                try await Task.sleep(for: delay)
                delay = min(delay * 2, .milliseconds(250))
            }
        }
    }
}
