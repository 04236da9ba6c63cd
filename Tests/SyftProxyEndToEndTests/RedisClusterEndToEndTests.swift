import Foundation
import Synchronization
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// Replicas on a real Redis Cluster (cluster-enabled redis-servers on loopback, slots assigned
/// by `redis-cli --cluster create`), given the URL of one node only.
@Suite(.serialized) struct RedisClusterEndToEndTests {
    static func replicas(_ count: Int, on cluster: RedisClusterProcess, environment: [String: String] = [:]) async throws -> [ProxyProcess] {
        var launched: [ProxyProcess] = []
        for index in 1...count {
            var env = environment
            env["PROXY_REDIS_URL"] = cluster.seedURL
            env["PROXY_REPLICA_ID"] = "replica-\(index)"
            launched.append(try await ProxyProcess.launch(environment: env))
        }
        for replica in launched {
            let http = HTTP(baseURL: replica.baseURL)
            try await eventually("\(replica.baseURL) is ready on the cluster", within: 20) { (try? await http.get("/ready"))?.json?["status"] == "ready" }
        }
        return launched
    }

    static func keysPerMaster(_ cluster: RedisClusterProcess) throws -> [Int: Int] {
        var counts: [Int: Int] = [:]
        for master in try cluster.masters {
            counts[master.port] = Int(try cluster.server(port: master.port)?.redisCLI(["DBSIZE"]) ?? "") ?? -1
        }
        return counts
    }

    @Test func requestsForManyDestinationsSpreadOverEveryMaster() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3)
        defer { cluster.stop() }
        let proxies = try await Self.replicas(2, on: cluster)
        defer { for proxy in proxies { proxy.stop() } }
        let http = proxies.map { HTTP(baseURL: $0.baseURL) }

        let info = try await http[0].get("/").json
        #expect(info?["store_topology"] == ["mode": "cluster", "nodes": 3, "reachable_nodes": 3])

        var ids: [String] = []
        for n in 0..<90 {
            let sent = try await send(http[n % 2], destination: "user\(n)@example.com")
            #expect(sent.status == 200)
            ids.append(try #require(sent.json?["id"]?.stringValue))
        }
        let counts = try Self.keysPerMaster(cluster)
        #expect(counts.count == 3)
        #expect(counts.values.allSatisfy { $0 > 0 }, "keys per master: \(counts)")
        for (n, id) in ids.enumerated() {
            #expect(try await http[(n + 1) % 2].get("/rpc/status/\(id)").status == 200)
        }
        // A round trip for destinations whose state sits on each master.
        for n in 0..<6 {
            let destination = "user\(n)@example.com"
            let leased = try await http[1].get("/rpc/inbox/calculator?destination=\(destination)").json?["requests"]?.arrayValue ?? []
            let id = try #require(leased.first?["id"]?.stringValue)
            #expect(try await http[0].post("/rpc/reply/\(id)", ["result": .int(n)]).status == 200)
            #expect(try await http[1].get("/rpc/status/\(id)").json?["result"] == .int(n))
        }
    }

    @Test func reshardingWhileBlockingCallsRunFailsNoCall() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3)
        defer { cluster.stop() }
        let proxies = try await Self.replicas(2, on: cluster)
        defer { for proxy in proxies { proxy.stop() } }
        let urls = proxies.map(\.baseURL)
        let destinations = (0..<16).map { "user\($0)@example.com" }
        let responders = PullResponders(urls: urls, destinations: destinations)
        defer { responders.stop() }

        let early = try #require(try await send(HTTP(baseURL: urls[0]), destination: "early@example.com").json?["id"]?.stringValue)
        let before = try Self.keysPerMaster(cluster)
        let traffic = BlockingTraffic(urls: urls, destinations: destinations, callers: 8)
        try await Task.sleep(for: .milliseconds(500))

        let masters = try cluster.masters
        // 2,000 slots hold at least one of the 16 shards, whose tags sit about 1,024 slots apart.
        try await cluster.reshard(slots: 2000, from: masters[0], to: masters[1])
        try await Task.sleep(for: .milliseconds(500))
        let result = await traffic.stop()
        let after = try Self.keysPerMaster(cluster)
        print("reshard of 2,000 slots under blocking calls: \(result); keys per master before \(before), after \(after)")

        #expect((after[masters[1].port] ?? 0) > (before[masters[1].port] ?? 0), "keys moved: before \(before), after \(after)")
        #expect(result.completed > 50, "\(result)")
        #expect(result.failures.isEmpty, "\(result.failures.count) of \(result.completed + result.failures.count) calls failed: \(result.failures.prefix(5))")
        for url in urls {
            #expect(try await HTTP(baseURL: url).get("/rpc/status/\(early)").status == 200, "a request created before the move is found")
        }
    }

    @Test func afterAMasterIsKilledCallsResumeOnceItsReplicaIsPromoted() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3, replicasPerMaster: 1)
        defer { cluster.stop() }
        let proxies = try await Self.replicas(1, on: cluster)
        defer { for proxy in proxies { proxy.stop() } }
        let urls = proxies.map(\.baseURL)
        let destinations = (0..<24).map { "user\($0)@example.com" }
        let responders = PullResponders(urls: urls, destinations: destinations)
        defer { responders.stop() }
        let traffic = BlockingTraffic(urls: urls, destinations: destinations, callers: 4)
        try await Task.sleep(for: .seconds(1))

        let victim = try cluster.masters[0]
        let killedAt = Date()
        try #require(cluster.server(port: victim.port)).stop()
        try await eventually("the replica of the killed master is promoted", within: 20) {
            guard let masters = try? cluster.masters.filter({ $0.slotCount > 0 }) else { return false }
            return masters.count == 3 && !masters.contains { $0.port == victim.port }
        }
        let promotedAt = Date()
        // Every destination, whichever shard it is on, answers again within 10 s.
        let http = HTTP(baseURL: urls[0], client: HTTP.manyConnections)
        var resumedAt: [String: Date] = [:]
        while resumedAt.count < destinations.count, Date().timeIntervalSince(promotedAt) < 10 {
            for destination in destinations where resumedAt[destination] == nil && Date().timeIntervalSince(promotedAt) < 10 {
                if let answer = try? await send(http, destination: destination, blocking: true, timeout: 2), answer.json?["status"] == "completed" {
                    resumedAt[destination] = Date()
                }
            }
        }
        _ = await traffic.stop()
        let promotion = promotedAt.timeIntervalSince(killedAt)
        let resumed = (resumedAt.values.max() ?? promotedAt).timeIntervalSince(promotedAt)
        print("failover: replica promoted \(String(format: "%.2f", promotion)) s after kill -9; all \(resumedAt.count) destinations answered \(String(format: "%.2f", resumed)) s after that")
        #expect(resumedAt.count == destinations.count, "destinations that never answered again: \(destinations.filter { resumedAt[$0] == nil })")
    }

    @Test func aMasterDownMakesReadyDegradedAndOtherShardsKeepServing() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3)
        defer { cluster.stop() }
        let proxies = try await Self.replicas(1, on: cluster)
        defer { for proxy in proxies { proxy.stop() } }
        let http = HTTP(baseURL: proxies[0].baseURL)
        let victim = try cluster.masters[2]
        try #require(cluster.server(port: victim.port)).stop()
        try await eventually("/ready says degraded", within: 20) { (try? await http.get("/ready"))?.json?["status"] == "degraded" }
        let ready = try await http.get("/ready")
        #expect(ready.status == 200)
        #expect(try await http.get("/").json?["store_topology"]?["reachable_nodes"] == 2)
        var served = 0
        var refused = 0
        for n in 0..<24 {
            let started = Date()
            let answer = try await send(http, destination: "user\(n)@example.com")
            if answer.status == 200 { served += 1 } else {
                #expect(answer.status == 503)
                #expect(Date().timeIntervalSince(started) < 6, "a call for a lost shard fails within the command budget")
                refused += 1
            }
        }
        #expect(served > 0 && refused > 0, "served \(served), refused \(refused)")
    }
}

/// Pull consumers for `destinations`, spread over the replicas, answering each item with its
/// params, until stopped.
final class PullResponders: Sendable {
    private let task: Task<Void, Never>

    init(urls: [String], destinations: [String]) {
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                for (index, destination) in destinations.enumerated() {
                    let http = HTTP(baseURL: urls[index % urls.count], client: HTTP.manyConnections)
                    group.addTask {
                        while !Task.isCancelled {
                            guard let inbox = try? await http.get("/rpc/inbox/calculator?destination=\(destination)&max=16&wait=1", timeout: 5) else {
                                try? await Task.sleep(for: .milliseconds(50))
                                continue
                            }
                            for item in inbox.json?["requests"]?.arrayValue ?? [] {
                                guard let id = item["id"]?.stringValue else { continue }
                                _ = try? await http.post("/rpc/reply/\(id)", ["result": item["params"] ?? .null])
                            }
                        }
                    }
                }
            }
        }
    }

    func stop() { task.cancel() }
}

/// Blocking calls in a loop from `callers` tasks, round-robin over replicas and destinations,
/// recording every call that did not complete.
final class BlockingTraffic: Sendable {
    struct Result: Sendable, CustomStringConvertible {
        var completed = 0
        var failures: [String] = []
        var description: String { "\(completed) completed, \(failures.count) failed" }
    }

    private final class Recorder: Sendable {
        let state = Mutex(Result())
    }

    private let recorder = Recorder()
    private let task: Task<Void, Never>

    init(urls: [String], destinations: [String], callers: Int) {
        let recorder = self.recorder
        task = Task {
            await withTaskGroup(of: Void.self) { group in
                for caller in 0..<callers {
                    group.addTask {
                        var n = caller
                        while !Task.isCancelled {
                            n += callers
                            let http = HTTP(baseURL: urls[n % urls.count], client: HTTP.manyConnections)
                            do {
                                let answer = try await send(http, destination: destinations[n % destinations.count], params: ["n": .int(n)], blocking: true, timeout: 10)
                                if answer.json?["status"] == "completed" {
                                    recorder.state.withLock { $0.completed += 1 }
                                } else {
                                    recorder.state.withLock { $0.failures.append("\(answer.status): \(answer.text.prefix(200))") }
                                }
                            } catch {
                                if Task.isCancelled { return }
                                recorder.state.withLock { $0.failures.append("\(error)") }
                            }
                        }
                    }
                }
            }
        }
    }

    func stop() async -> Result {
        task.cancel()
        await task.value
        return recorder.state.withLock { $0 }
    }
}
