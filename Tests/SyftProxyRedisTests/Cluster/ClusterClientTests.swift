import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

/// The cluster client against real Redis Clusters on loopback ports.
@Suite(.serialized) struct ClusterClientTests {
    static let increment = RedisScript("return redis.call('INCRBY', KEYS[1], ARGV[1])")

    @Test func keysLandOnEveryMasterAndScriptsRunOnEach() async throws {
        try await withClusterClient { client, cluster in
            for n in 0..<1000 {
                _ = try await client.send(RedisCommand("SET", "key:\(n)", "value:\(n)"), routingKey: "key:\(n)")
            }
            var total = 0
            for master in try cluster.masters {
                let connection = try await nodeConnection(master.port)
                let size = try await connection.send(RedisCommand("DBSIZE")).int ?? 0
                #expect(size > 200, "master \(master.port) holds \(size) of 1000 keys")
                total += Int(size)
                // A script on a key of this master: EVALSHA, loaded there with EVAL first.
                let scripted = key("counter", where: master.owns)
                #expect(try await client.eval(Self.increment, keys: [scripted], args: ["2"]).int == 2)
                #expect(try await client.eval(Self.increment, keys: [scripted], args: ["3"]).int == 5)
                #expect(try await connection.send(RedisCommand("SCRIPT", "EXISTS", Self.increment.sha1)) == .array([.integer(1)]))
                await connection.close()
            }
            #expect(total == 1000)
            // A command without keys goes to any master.
            #expect(try await client.send(RedisCommand("PING"), routingKey: nil) == .simpleString("PONG"))
            #expect(try await client.send(RedisCommand("GET", "key:999"), routingKey: "key:999") == .bulk("value:999"))
        }
    }

    @Test func everyNodeIsLoggedIntoWithTheSeedsPassword() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3, options: ["--requirepass", "s3cret", "--masterauth", "s3cret"])
        defer { cluster.stop() }
        let client = try RedisClusterClient(configuration: RedisConfiguration(url: "redis://:s3cret@127.0.0.1:\(cluster.servers[0].port)"), logger: testLogger)
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await eventually("every master reached with the password") { client.topology.reachableNodes == 3 }
        for master in try cluster.masters {
            let onIt = key("auth", where: master.owns)
            #expect(try await client.send(RedisCommand("SET", onIt, "1"), routingKey: onIt) == .simpleString("OK"))
        }
        await client.shutdown()
        await running.value
    }

    @Test func everyNodeIsReachedOverTLSByTheConfiguredServerName() async throws {
        let certificates = try TestCertificates.make()
        defer { certificates.remove() }
        let cluster = try await RedisClusterProcess.launch(masters: 3, tls: certificates)
        defer { cluster.stop() }
        // Nodes announce 127.0.0.1; the certificate names localhost, so the name is configured.
        let tls = RedisTLS(caFile: certificates.caFile, serverName: "localhost")
        let client = try RedisClusterClient(configuration: RedisConfiguration(url: "rediss://127.0.0.1:\(cluster.tlsPorts[0])", tls: tls), logger: testLogger)
        let running = Task { await client.run() }
        defer { running.cancel() }
        try await eventually("every master reached over TLS") { client.topology.reachableNodes == 3 }
        for master in try cluster.masters {
            let onIt = key("tls", where: master.owns)
            #expect(try await client.send(RedisCommand("SET", onIt, "1"), routingKey: onIt) == .simpleString("OK"))
            #expect(cluster.tlsPorts.contains(try client.owner(of: RedisHashSlot.slot(of: onIt)).configuration.port))
        }
        await client.shutdown()
        await running.value
    }

    @Test func scriptKeysInDifferentSlotsAreRefused() async throws {
        try await withClusterClient { client, _ in
            await #expect {
                try await client.eval(Self.increment, keys: ["a", "b"], args: ["1"])
            } throws: { error in
                guard case RedisError.invalidCommand(let message) = error else { return false }
                return message.contains("hash tag")
            }
            let tagged = try await client.eval(Self.increment, keys: ["{t}a", "{t}b"], args: ["1"])
            #expect(tagged.int == 1)
        }
    }

    @Test func movedAfterReshardUpdatesTheMap() async throws {
        try await withClusterClient { client, cluster in
            for n in 0..<1000 { _ = try await client.send(RedisCommand("SET", "k\(n)", "\(n)"), routingKey: "k\(n)") }
            let masters = try cluster.masters
            let source = masters[0]
            let target = masters[1]
            let moved = source.lowestSlot
            try await cluster.reshard(slots: 300, from: source, to: target)
            for n in 0..<1000 {
                #expect(try await client.send(RedisCommand("GET", "k\(n)"), routingKey: "k\(n)") == .bulk("\(n)"))
            }
            #expect(try cluster.master(owning: moved).port == target.port)
            #expect(try client.owner(of: moved).configuration.port == target.port)
        }
    }

    @Test func aMasterLeftWithoutSlotsLeavesTheMap() async throws {
        try await withClusterClient { client, cluster in
            let masters = try cluster.masters
            let drained = masters[0]
            try await cluster.reshard(slots: drained.slotCount, from: drained, to: masters[1])
            try await eventually("the drained master left the map", within: 10) {
                client.topology.nodes == 2 && client.state.withLock { $0.nodes[RedisEndpoint(host: "127.0.0.1", port: drained.port)] == nil }
            }
            let onIt = key("drained", where: drained.owns)
            #expect(try await client.send(RedisCommand("SET", onIt, "1"), routingKey: onIt) == .simpleString("OK"))
        }
    }

    @Test func askDuringAMigrationReachesTheImportingNode() async throws {
        try await withClusterClient { client, cluster in
            let masters = try cluster.masters
            let source = masters[0]
            let target = masters[1]
            let slot = source.lowestSlot
            let tag = key("tag", where: { $0 == slot })
            let migrated = "{\(tag)}:migrated"
            let staying = "{\(tag)}:staying"
            _ = try await client.send(RedisCommand("SET", migrated, "moved-value"), routingKey: migrated)
            _ = try await client.send(RedisCommand("SET", staying, "old-value"), routingKey: staying)

            let sourceNode = try await nodeConnection(source.port)
            let targetNode = try await nodeConnection(target.port)
            _ = try await targetNode.send(RedisCommand("CLUSTER", "SETSLOT", String(slot), "IMPORTING", source.id))
            _ = try await sourceNode.send(RedisCommand("CLUSTER", "SETSLOT", String(slot), "MIGRATING", target.id))
            _ = try await sourceNode.send(RedisCommand("MIGRATE", "127.0.0.1", String(target.port), "", "0", "5000", "KEYS", migrated))

            // The source answers ASK for the key it no longer has; the client asks the target.
            #expect(try await client.send(RedisCommand("GET", migrated), routingKey: migrated) == .bulk("moved-value"))
            #expect(try await client.send(RedisCommand("GET", staying), routingKey: staying) == .bulk("old-value"))
            // A new key of a migrating slot is created on the target.
            let created = "{\(tag)}:new"
            _ = try await client.send(RedisCommand("SET", created, "new-value"), routingKey: created)
            #expect(try await targetNode.send(RedisCommand("CLUSTER", "COUNTKEYSINSLOT", String(slot))).int == 2)
            // ASK moves one command, not the slot.
            #expect(try client.owner(of: slot).configuration.port == source.port)
            await sourceNode.close()
            await targetNode.close()
        }
    }

    @Test func reshardingUnderLoadFailsNoCall() async throws {
        try await withClusterClient { client, cluster in
            let masters = try cluster.masters
            let calls = Counter()
            let failures = Counter()
            let stop = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<4 {
                    group.addTask {
                        var n = 0
                        while stop.value == 0 {
                            let key = "load:\(worker):\(n % 500)"
                            do {
                                _ = try await client.send(RedisCommand("SET", key, "\(n)"), routingKey: key)
                                #expect(try await client.send(RedisCommand("GET", key), routingKey: key) == .bulk("\(n)"))
                                _ = try await client.eval(Self.increment, keys: ["\(key):count"], args: ["1"])
                            } catch {
                                failures.increment()
                                Issue.record("call failed during the reshard: \(error)")
                            }
                            calls.increment()
                            n += 1
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(300))
                try await cluster.reshard(slots: 1000, from: masters[0], to: masters[2])
                try await Task.sleep(for: .milliseconds(300))
                stop.increment()
                try await group.waitForAll()
            }
            print("reshard of 1000 slots under load: \(calls.value) iterations of SET+GET+EVAL, \(failures.value) failed")
            #expect(failures.value == 0)
            #expect(calls.value > 100)
        }
    }

    @Test func masterFailureResumesOnThePromotedReplica() async throws {
        try await withClusterClient(replicasPerMaster: 1) { client, cluster in
            let victim = try cluster.masters[0]
            let probe = key("failover", where: victim.owns)
            let channel = key("failover-events", where: victim.owns)
            _ = try await client.eval(Self.increment, keys: [probe], args: ["1"])
            let replica = try cluster.nodes().first { $0.masterID == victim.id }
            let replicaPort = try #require(replica?.port)
            try await eventually("the replica has the key") {
                let connection = try await nodeConnection(replicaPort)
                _ = try await connection.send(RedisCommand("READONLY"))
                let value = try await connection.send(RedisCommand("GET", probe))
                await connection.close()
                return value == .bulk("1")
            }
            let received = Counter()
            let subscription = client.makeShardSubscriber(
                channels: [channel], logger: testLogger, onMessage: { _, _ in received.increment() }, onSubscribed: {})
            let calls = Counter()
            let failures = Counter()
            let stop = Counter()
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await subscription.run() }
                try await eventually("subscribed on the victim") { subscription.isConnected }
                // Traffic on every master while one of them dies.
                for worker in 0..<2 {
                    group.addTask {
                        var n = 0
                        while stop.value == 0 {
                            let key = "traffic:\(worker):\(n % 300)"
                            if (try? await client.send(RedisCommand("SET", key, "\(n)"), routingKey: key)) == nil { failures.increment() }
                            calls.increment()
                            n += 1
                            if n % 50 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                        }
                    }
                }
                try await Task.sleep(for: .milliseconds(200))
                let clock = ContinuousClock()
                let killed = clock.now
                cluster.server(port: victim.port)?.stop()
                var promotedAfter: Duration?
                var resumedAfter: Duration?
                let replicaNode = try await nodeConnection(replicaPort)
                while clock.now - killed < .seconds(20) {
                    if promotedAfter == nil, (try? await replicaNode.send(RedisCommand("ROLE")))?.array?.first?.string == "master" {
                        promotedAfter = clock.now - killed
                    }
                    if (try? await client.send(RedisCommand("SET", probe, "7"), routingKey: probe)) != nil {
                        resumedAfter = clock.now - killed
                        break
                    }
                    try await Task.sleep(for: .milliseconds(20))
                }
                await replicaNode.close()
                let resumed = try #require(resumedAfter, "calls did not resume within 20 s of the kill")
                let promoted = promotedAfter ?? resumed
                print("failover: replica promoted \(promoted) after the kill; calls resumed \(resumed) after the kill, \(resumed - promoted) after the promotion")
                #expect(resumed - promoted < .seconds(10))
                let failedBefore = failures.value
                let callsBefore = calls.value
                try await Task.sleep(for: .milliseconds(500))
                stop.increment()
                print("failover traffic: \(calls.value) SETs, \(failedBefore) failed during the outage, \(failures.value - failedBefore) of \(calls.value - callsBefore) after it")
                #expect(failures.value == failedBefore)

                // The promoted replica has no script cache: EVALSHA → NOSCRIPT → EVAL there.
                let promotedNode = try await nodeConnection(replicaPort)
                #expect(try await promotedNode.send(RedisCommand("SCRIPT", "EXISTS", Self.increment.sha1)) == .array([.integer(0)]))
                #expect(try await client.eval(Self.increment, keys: [probe], args: ["1"]).int == 8)
                #expect(try await promotedNode.send(RedisCommand("SCRIPT", "EXISTS", Self.increment.sha1)) == .array([.integer(1)]))
                await promotedNode.close()

                // The shard subscription followed the slot to the promoted replica.
                try await eventually("shard messages arrive from the promoted replica", within: 10) {
                    _ = try? await client.send(RedisCommand("SPUBLISH", channel, "after"), routingKey: channel)
                    return received.value > 0
                }
                group.cancelAll()
            }
        }
    }

    @Test func unreachableMasterDegradesAndFailsFastForItsSlotsOnly() async throws {
        try await withClusterClient(options: ["--cluster-require-full-coverage", "no"]) { client, cluster in
            let masters = try cluster.masters
            let down = masters[0]
            let downKey = key("down", where: down.owns)
            let upKey = key("up", where: masters[1].owns)
            cluster.server(port: down.port)?.stop()
            try await eventually("the topology is degraded") { client.topology.isDegraded }
            #expect(client.topology.nodes == 3 && client.topology.reachableNodes == 2)
            let clock = ContinuousClock()
            let started = clock.now
            await #expect {
                try await client.send(RedisCommand("GET", downKey), routingKey: downKey)
            } throws: { error in
                guard case RedisError.unavailable(let message) = error else { return false }
                return message.contains("127.0.0.1:\(down.port)")
            }
            let elapsed = clock.now - started
            #expect(elapsed < .seconds(1), "failing took \(elapsed)")
            try await eventually("the other masters keep serving", within: 5) {
                (try? await client.send(RedisCommand("SET", upKey, "x"), routingKey: upKey)) == .simpleString("OK")
            }
        }
    }
}
