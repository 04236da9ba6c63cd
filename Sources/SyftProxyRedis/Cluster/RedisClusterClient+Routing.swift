extension RedisClusterClient: RedisCommandExecutor {
    /// What one call runs on whichever node it lands.
    enum Operation {
        case command(RedisCommand)
        /// EVALSHA, and EVAL with the source when that node has not cached the script.
        case script(RedisScript, keysAndArgs: [String])
    }

    public func send(_ command: RedisCommand, routingKey: String?) async throws -> RESPValue {
        try await execute(.command(command), slot: routingKey.map(RedisHashSlot.slot(of:)))
    }

    public func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        var slot: Int?
        for key in keys {
            let keySlot = RedisHashSlot.slot(of: key)
            if let slot, slot != keySlot {
                throw RedisError.invalidCommand(
                    "the keys of one script must share a hash slot on a Redis Cluster, but '\(keys[0])' and '\(key)' do not; give them one hash tag, e.g. {id}:a and {id}:b")
            }
            slot = keySlot
        }
        var keysAndArgs: [String] = [String(keys.count)]
        keysAndArgs.reserveCapacity(1 + keys.count + args.count)
        keysAndArgs.append(contentsOf: keys)
        keysAndArgs.append(contentsOf: args)
        return try await execute(.script(script, keysAndArgs: keysAndArgs), slot: slot)
    }

    /// Runs `operation` at the slot's master, following MOVED and ASK, and retrying what is
    /// safe to retry within the configuration's command timeout: replies that say "later"
    /// (TRYAGAIN, CLUSTERDOWN, LOADING, MASTERDOWN), and commands that were never written.
    /// A command written and then lost (timeout, closed connection) is not retried: it may
    /// have run.
    func execute(_ operation: Operation, slot: Int?) async throws -> RESPValue {
        let deadline = ContinuousClock.now + configuration.commandTimeout
        var redirects = 0
        var asking: RedisConnectionPool?
        var pause = Duration.milliseconds(10)
        while true {
            let pool = try asking ?? owner(of: slot)
            let connection: RedisConnection
            do {
                connection = try pool.connection()
            } catch {
                // Nothing was written. A pool just made (a new master) is still connecting.
                if !pool.hasConnected, ContinuousClock.now + pause < deadline {
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .milliseconds(200))
                    continue
                }
                // Otherwise the node is down: retry only if a fresh map names another owner,
                // so calls for an unreachable master's slots fail fast.
                if asking == nil, ContinuousClock.now < deadline {
                    await awaitRefresh(until: deadline)
                    if let owner = try? owner(of: slot), owner !== pool { continue }
                }
                throw RedisError.unavailable(
                    "Redis Cluster node \(pool.configuration.endpointDescription)\(slot.map { ", master of slot \($0)," } ?? "") is unreachable (\(error))")
            }
            do {
                return try await run(operation, on: connection, asking: asking != nil)
            } catch RedisError.server(let message) {
                guard let reply = RedisClusterReply(errorMessage: message) else { throw RedisError.server(message) }
                switch reply {
                case .moved(let movedSlot, let target):
                    redirects += 1
                    guard redirects <= Self.maximumRedirects else { throw tooManyRedirects(message) }
                    asking = nil
                    _ = adopt(slot: movedSlot, movedTo: target)
                    requestRefresh()
                case .ask(_, let target):
                    redirects += 1
                    guard redirects <= Self.maximumRedirects else { throw tooManyRedirects(message) }
                    asking = askTarget(target)
                case .retryLater:
                    guard ContinuousClock.now + pause < deadline else {
                        throw RedisError.server("\(message) (retried until the command timeout of \(configuration.commandTimeout))")
                    }
                    asking = nil
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .milliseconds(200))
                }
            } catch let error as RedisError where error.isSaturation {
                throw error
            } catch RedisError.unavailable(let detail) {
                // Not written: the connection closed first.
                requestRefresh()
                if asking == nil, ContinuousClock.now + pause < deadline {
                    try await Task.sleep(for: pause)
                    pause = min(pause * 2, .milliseconds(200))
                    continue
                }
                throw RedisError.unavailable(detail)
            } catch RedisError.timeout(let detail) {
                requestRefresh()
                throw RedisError.timeout("\(detail); the Redis Cluster client does not retry a command once sent")
            } catch RedisError.connectionClosed(let detail) {
                requestRefresh()
                throw RedisError.connectionClosed("\(detail); the Redis Cluster client does not retry a command once sent")
            }
        }
    }

    private func run(_ operation: Operation, on connection: RedisConnection, asking: Bool) async throws -> RESPValue {
        switch operation {
        case .command(let command):
            return asking ? try await connection.sendAsking(command) : try await connection.send(command)
        case .script(let script, let keysAndArgs):
            do {
                let command = RedisCommand(["EVALSHA", script.sha1] + keysAndArgs)
                return asking ? try await connection.sendAsking(command) : try await connection.send(command)
            } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
                // Each node has its own script cache; a promoted replica or a new master starts
                // empty. EVAL caches it there for the next call.
                let command = RedisCommand(["EVAL", script.source] + keysAndArgs)
                return asking ? try await connection.sendAsking(command) : try await connection.send(command)
            }
        }
    }

    /// The slot's master, or any master for a command without keys.
    func owner(of slot: Int?) throws -> RedisConnectionPool {
        let found = state.withLock { state -> RedisConnectionPool? in
            guard let slot else {
                guard !state.masters.isEmpty else { return nil }
                state.nextKeyless &+= 1
                return state.masters[state.nextKeyless % state.masters.count]
            }
            return state.slots[slot]
        }
        if let found { return found }
        let (isKnown, isShutDown) = state.withLock { ($0.isKnown, $0.isShutDown) }
        if isShutDown { throw RedisError.connectionClosed("the Redis Cluster client for \(configuration.endpointDescription) was shut down") }
        guard isKnown else {
            throw RedisError.unavailable(
                "the Redis Cluster's slot map is not known yet: none of the seed nodes \(seeds.map(\.description).joined(separator: ",")) has answered CLUSTER SHARDS")
        }
        throw RedisError.unavailable("no master of the Redis Cluster serves slot \(slot.map(String.init) ?? "any"); the cluster is down or being reconfigured")
    }

    private func tooManyRedirects(_ last: String) -> RedisError {
        .unavailable("the Redis Cluster redirected one command \(Self.maximumRedirects) times (last: \(last)); its slots are moving faster than they can be followed")
    }
}
