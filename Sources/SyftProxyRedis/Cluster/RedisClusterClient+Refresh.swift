import NIOCore

extension RedisClusterClient {
    /// Asks for a refresh soon; requests made while one runs are coalesced into one more.
    func requestRefresh() {
        refreshRequests.continuation.yield(())
    }

    /// Waits for a refresh that starts after this call, or until `deadline`.
    func awaitRefresh(until deadline: ContinuousClock.Instant) async {
        let eventLoop = eventLoopGroup.next()
        let promise = eventLoop.makePromise(of: Void.self)
        let registered = state.withLock { state in
            guard state.isRunning, !state.isShutDown else { return false }
            state.refreshWaiters.append(promise)
            return true
        }
        guard registered else { return }
        requestRefresh()
        let remaining = ContinuousClock.now.duration(to: deadline)
        let timer = eventLoop.scheduleTask(in: TimeAmount(max(remaining, .zero))) { promise.succeed() }
        // Whichever comes first completes the wait; later completions are ignored.
        await withTaskCancellationHandler {
            try? await promise.futureResult.get()
        } onCancel: {
            promise.succeed()
        }
        timer.cancel()
    }

    /// The refresh loop: the first discovery is retried with backoff until it works; later
    /// refreshes run when asked (redirects, lost connections, the periodic timer).
    func maintainTopology() async {
        var backoff = ReconnectBackoff()
        var failures = 0
        requestRefresh()
        for await _ in refreshRequests.stream {
            let waiters = state.withLock { state in
                defer { state.refreshWaiters = [] }
                return state.refreshWaiters
            }
            let problem = await refresh()
            for waiter in waiters { waiter.succeed() }
            if let problem {
                failures += 1
                if failures == 1 {
                    logger.warning("Redis Cluster topology refresh failed; retrying", metadata: ["redis": "\(configuration.endpointDescription)", "error": "\(problem)"])
                }
                if !state.withLock({ $0.isKnown }) {
                    try? await Task.sleep(for: backoff.next())
                    requestRefresh()
                }
            } else {
                if failures > 0 { logger.info("Redis Cluster topology known again", metadata: ["redis": "\(configuration.endpointDescription)"]) }
                failures = 0
                backoff.reset()
            }
            // Many redirects at once ask for many refreshes; one every so often is enough.
            try? await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Reads the slot map from a reachable known node, else from the seeds. Returns what went
    /// wrong, or nil once the map was applied.
    func refresh() async -> String? {
        let known = state.withLock { $0.masters }
        var problems: [String] = []
        for pool in known where pool.connectedCount > 0 {
            let endpoint = RedisEndpoint(host: pool.configuration.host, port: pool.configuration.port)
            do {
                let ranges = try await readSlotRanges(from: endpoint) { try await pool.send($0) }
                if apply(ranges) { return nil }
                problems.append("\(endpoint) serves no slots")
            } catch {
                problems.append("\(endpoint): \(error)")
            }
        }
        let askedAlready = Set(known.filter { $0.connectedCount > 0 }.map { RedisEndpoint(host: $0.configuration.host, port: $0.configuration.port) })
        for seed in seeds where !askedAlready.contains(seed) {
            do {
                let connection = try await RedisConnection.connect(configuration: nodeConfiguration(seed), eventLoop: eventLoopGroup.next(), logger: logger)
                let ranges: RedisClusterSlotRanges
                do {
                    ranges = try await readSlotRanges(from: seed) { try await connection.send($0) }
                } catch {
                    await connection.close()
                    throw error
                }
                await connection.close()
                if apply(ranges) { return nil }
                problems.append("\(seed) serves no slots")
            } catch {
                problems.append("\(seed): \(error)")
            }
        }
        return problems.isEmpty ? "no node to ask" : problems.joined(separator: "; ")
    }

    private func readSlotRanges(
        from endpoint: RedisEndpoint, _ send: (RedisCommand) async throws -> RESPValue
    ) async throws -> RedisClusterSlotRanges {
        do {
            return try RedisClusterSlotRanges.parseShards(try await send(RedisCommand("CLUSTER", "SHARDS")), reportedBy: endpoint, tls: configuration.tls != nil)
        } catch RedisError.server(let message) where message.lowercased().contains("unknown subcommand") {
            // Redis before 7.0.
            return try RedisClusterSlotRanges.parseSlots(try await send(RedisCommand("CLUSTER", "SLOTS")), reportedBy: endpoint)
        }
    }

    /// Installs a new slot map; pools of nodes that left it are shut down. False when the map
    /// is empty (a node not yet part of a cluster), which is not applied.
    @discardableResult
    func apply(_ ranges: RedisClusterSlotRanges) -> Bool {
        guard !ranges.ranges.isEmpty else { return false }
        let outcome = state.withLock { state -> (created: [RedisConnectionPool], removed: [RedisConnectionPool])? in
            guard !state.isShutDown else { return nil }
            var slots = [RedisConnectionPool?](repeating: nil, count: RedisHashSlot.count)
            var masters: [RedisConnectionPool] = []
            var kept: [RedisEndpoint: RedisConnectionPool] = [:]
            var created: [RedisConnectionPool] = []
            for range in ranges.ranges {
                let pool: RedisConnectionPool
                if let existing = kept[range.master] {
                    pool = existing
                } else {
                    let (found, isNew) = self.pool(for: range.master, in: &state)
                    if isNew { created.append(found) }
                    kept[range.master] = found
                    masters.append(found)
                    pool = found
                }
                for slot in range.slots { slots[slot] = pool }
            }
            let removed = state.nodes.filter { kept[$0.key] == nil }.map(\.value)
            let changed = !state.isKnown || zip(state.slots, slots).contains { $0 !== $1 }
            state.slots = slots
            state.nodes = kept
            state.masters = masters.sorted { ($0.configuration.host, $0.configuration.port) < ($1.configuration.host, $1.configuration.port) }
            state.isKnown = true
            if changed { state.generation += 1 }
            return (created, removed)
        }
        guard let outcome else { return false }
        start(outcome.created)
        for pool in outcome.removed {
            logger.info("Redis Cluster node left the slot map; closing its connections", metadata: ["redis": "\(pool.configuration.endpointDescription)"])
            // Off the caller's path: closing waits for the connections to close.
            pool.shutdownSoon()
        }
        return true
    }

    /// A MOVED reply: the slot belongs to `endpoint` from now on.
    func adopt(slot: Int, movedTo endpoint: RedisEndpoint) -> RedisConnectionPool? {
        let outcome = state.withLock { state -> (RedisConnectionPool, Bool)? in
            guard !state.isShutDown, RedisHashSlot.count > slot, slot >= 0 else { return nil }
            let (pool, isNew) = self.pool(for: endpoint, in: &state)
            if state.slots[slot] !== pool {
                state.slots[slot] = pool
                state.generation += 1
            }
            if !state.masters.contains(where: { $0 === pool }) { state.masters.append(pool) }
            return (pool, isNew)
        }
        guard let (pool, isNew) = outcome else { return nil }
        if isNew { start([pool]) }
        return pool
    }

    /// An ASK target: used for one command, not put in the map.
    func askTarget(_ endpoint: RedisEndpoint) -> RedisConnectionPool? {
        let outcome = state.withLock { state -> (RedisConnectionPool, Bool)? in
            guard !state.isShutDown else { return nil }
            return self.pool(for: endpoint, in: &state)
        }
        guard let (pool, isNew) = outcome else { return nil }
        if isNew { start([pool]) }
        return pool
    }
}
