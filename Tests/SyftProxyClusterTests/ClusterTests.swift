import AsyncHTTPClient
import Foundation
import Testing
import SyftProxyCore
import SyftProxyTestSupport

/// Three replicas sharing one redis-server, as real processes on loopback; the tests not about
/// one redis-server's process also run on a three-master Redis Cluster.
@Suite(.serialized) struct ClusterTests {
    @Test(arguments: RedisBackendKind.allCases)
    func answerThroughReplicaThreeWakesCallerOnReplicaOne(backend: RedisBackendKind) async throws {
        let cluster = try await Cluster.launch(backend: backend)
        defer { cluster.stop() }
        async let caller = send(cluster.http(0), params: ["a": 2, "b": 3], blocking: true, timeout: 15)
        // Replica 2 hands out the request; replica 3 takes the answer.
        var item: JSONValue?
        for _ in 0..<50 where item == nil {
            item = try await cluster.http(1).get("/rpc/inbox/calculator?destination=bob@example.com&wait=1").json?["requests"]?.arrayValue?.first
        }
        let id = try #require(item?["id"]?.stringValue)
        let answeredAt = Date()
        let reply = try await cluster.http(2).post("/rpc/reply/\(id)", ["result": 5])
        #expect(reply.status == 200)
        let answer = try await caller
        let wake = Date().timeIntervalSince(answeredAt)
        #expect(answer.status == 200)
        #expect(answer.json?["result"] == 5)
        #expect(answer.headers.first(name: "X-Proxy-Replica") == "replica-1")
        #expect(wake < 0.5, "caller woke \(wake) s after the answer")
    }

    @Test(arguments: RedisBackendKind.allCases)
    func anyReplicaServesAnyRequest(backend: RedisBackendKind) async throws {
        let cluster = try await Cluster.launch(backend: backend)
        defer { cluster.stop() }
        let sent = try await send(cluster.http(0))
        let id = try #require(sent.json?["id"]?.stringValue)
        for index in 0..<3 {
            let status = try await cluster.http(index).get("/rpc/status/\(id)")
            #expect(status.status == 200)
            #expect(status.json?["id"] == .string(id))
        }
        let info = try await cluster.http(1).get("/")
        #expect(info.json?["store"] == "redis")
    }

    @Test func requestKeysCarryTheConfiguredTTL() async throws {
        let cluster = try await Cluster.launch(replicas: 1, environment: ["PROXY_REQUEST_TTL": "120"])
        defer { cluster.stop() }
        let id = try #require(try await send(cluster.http(0)).json?["id"]?.stringValue)
        // An open request is kept until its deadline (the send's 20 s timeout), then the TTL.
        // The record's key carries its shard's tag (RedisKeys); the id is its only unique part.
        let key = try cluster.redis.redisCLI(["KEYS", "rpc:*:\(id)"]).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(key.hasPrefix("rpc:{syft:") && key.hasSuffix(id), "record key '\(key)'")
        let ttl = Int(try cluster.redis.redisCLI(["TTL", key])) ?? -2
        #expect(ttl > 130 && ttl <= 140, "TTL was \(ttl)")
    }

    /// Replicas must agree on PROXY_REDIS_SHARDS: one started with another count than the
    /// deployment's recorded one stays unready and refuses calls, naming both counts, instead of
    /// missing the running requests.
    @Test func aReplicaWithAnotherShardCountRefusesToServe() async throws {
        let cluster = try await Cluster.launch(replicas: 1)
        defer { cluster.stop() }
        let id = try #require(try await send(cluster.http(0)).json?["id"]?.stringValue)
        var environment = cluster.environment
        environment["PROXY_REDIS_SHARDS"] = "8"
        let stray = try await ProxyProcess.launch(environment: environment)
        defer { stray.stop() }
        let strayHTTP = HTTP(baseURL: stray.baseURL)
        // Unready from the start; the reason names the counts once it has reached Redis.
        #expect(try await strayHTTP.get("/ready").status == 503)
        try await eventually("the stray replica's /ready names both shard counts", within: 10) {
            let ready = try await strayHTTP.get("/ready")
            let detail = ready.json?["detail"]?.stringValue ?? ""
            return ready.status == 503 && detail.contains("PROXY_REDIS_SHARDS=8") && detail.contains("16 shards")
        }
        #expect(try await strayHTTP.get("/rpc/status/\(id)").status == 503)
        #expect(try await send(strayHTTP).status == 503)
        #expect(try await cluster.http(0).get("/rpc/status/\(id)").status == 200)
    }

    @Test(arguments: RedisBackendKind.allCases)
    func consumerThatLeasesAndDiesGetsItsRequestRedelivered(backend: RedisBackendKind) async throws {
        let cluster = try await Cluster.launch(environment: ["PROXY_LEASE_SECONDS": "1", "PROXY_MAX_ATTEMPTS": "3"], backend: backend)
        defer { cluster.stop() }
        let id = try #require(try await send(cluster.http(0)).json?["id"]?.stringValue)
        let first = try await cluster.http(1).get("/rpc/inbox/calculator?destination=bob@example.com").json?["requests"]?.arrayValue?.first
        #expect(first?["id"] == .string(id))
        // The consumer dies without answering; after the lease a consumer on another replica gets it again.
        let again = try await cluster.http(2).get("/rpc/inbox/calculator?destination=bob@example.com&wait=10").json?["requests"]?.arrayValue?.first
        #expect(again?["id"] == .string(id))
        #expect(again?["attempts"] == 2)
        #expect(try await cluster.http(2).post("/rpc/reply/\(id)", ["result": "ok"]).status == 200)
        #expect(try await cluster.http(0).get("/rpc/status/\(id)").json?["status"] == "completed")
    }

    @Test(arguments: RedisBackendKind.allCases)
    func killingAReplicaWithWorkInFlightLosesNothing(backend: RedisBackendKind) async throws {
        let cluster = try await Cluster.launch(environment: ["PROXY_LEASE_SECONDS": "2", "PROXY_MAX_ATTEMPTS": "5"], backend: backend)
        defer { cluster.stop() }
        let app = try await SlowPushApp(delay: .milliseconds(800))
        defer { Task { await app.stop() } }
        _ = try await cluster.http(0).put("/rpc/apps/slow/endpoint", ["destination": "bob@example.com", "url": .string(app.url)])
        var ids: [String] = []
        for n in 0..<30 {
            let answer = try await send(cluster.http(n % 3), app: "slow", params: ["n": .int(n)], timeout: 60)
            ids.append(try #require(answer.json?["id"]?.stringValue))
        }
        // Every replica's forwarder is now waiting on the slow app with deliveries it leased.
        try await Task.sleep(for: .milliseconds(200))
        cluster.replicas[1].kill9()
        var redelivered = 0
        for id in ids {
            let status = try await waitForStatus(cluster.http(0), id: id, within: 30, until: isFinal)
            #expect(status?["status"] == "completed", "request \(id) ended \(status?.compactString ?? "unknown")")
            if (status?["attempts"]?.intValue ?? 0) > 1 { redelivered += 1 }
        }
        #expect(redelivered > 0, "no delivery of the killed replica was redelivered; the test did not exercise recovery")
    }

    @Test func redisOutageAnswers503ThenServiceResumes() async throws {
        let cluster = try await Cluster.launch(replicas: 2)
        defer { cluster.stop() }
        #expect(try await cluster.http(0).get("/ready").status == 200)
        cluster.redis.stop()
        let started = Date()
        let during = try await send(cluster.http(0), timeout: 5)
        #expect(during.status == 503)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(during.headers.first(name: "Retry-After") != nil)
        #expect(try await cluster.http(1).get("/ready").status == 503)
        #expect(try await cluster.http(1).get("/health").status == 200)
        #expect(cluster.replicas.allSatisfy { $0.process.isRunning })

        try await cluster.redis.start()
        var ready = false
        for _ in 0..<100 where !ready {
            let first = try await cluster.http(0).get("/ready").status
            let second = try await cluster.http(1).get("/ready").status
            ready = first == 200 && second == 200
            if !ready { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(ready)
        let responder = Task {
            for _ in 0..<50 {
                if let item = try await cluster.http(1).get("/rpc/inbox/calculator?destination=bob@example.com&wait=1").json?["requests"]?.arrayValue?.first,
                    let id = item["id"]?.stringValue
                {
                    _ = try await cluster.http(1).post("/rpc/reply/\(id)", ["result": "back"])
                    return
                }
            }
        }
        let after = try await send(cluster.http(0), blocking: true, timeout: 10)
        try await responder.value
        #expect(after.status == 200)
        #expect(after.json?["result"] == "back")
    }

    @Test func redisConnectionsStayFlatWhileAThousandCallersWait() async throws {
        let cluster = try await Cluster.launch(replicas: 1, environment: ["PROXY_MAX_REQUESTS": "5000"])
        defer { cluster.stop() }
        func connections() throws -> Int {
            try cluster.redis.redisCLI(["CLIENT", "LIST"]).split(separator: "\n").filter { !$0.contains("cmd=client") }.count
        }
        _ = try await send(cluster.http(0))
        // A replica holds 4 command connections and 1 subscriber connection; the subscriber's
        // may come up after the first send.
        try await eventually("the replica's Redis connections are all up", within: 10) { try connections() == 5 }
        let idle = try connections()
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 1100
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let url = cluster.replicas[0].baseURL + "/rpc/send"
        let callers = Task {
            try await withThrowingTaskGroup(of: Int.self) { group in
                for n in 0..<1000 {
                    group.addTask {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.body = .bytes(.init(bytes: JSONValue.object(["app_name": "waiters", "func_name": "f", "destination": .string("w\(n)@example.com"), "blocking": true, "timeout": 8]).compactBytes))
                        let response = try await client.execute(request, timeout: .seconds(30))
                        return Int(response.status.code)
                    }
                }
                var codes: [Int] = []
                for try await code in group { codes.append(code) }
                return codes
            }
        }
        var waiting = 0
        for _ in 0..<100 {
            let metrics = try await cluster.http(0).get("/metrics").text
            waiting = metrics.split(separator: "\n").first { $0.hasPrefix("rpc_in_flight_requests ") }.flatMap { Double($0.split(separator: " ").last ?? "") }.map { Int($0) } ?? 0
            if waiting >= 1000 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(waiting >= 1000, "only \(waiting) callers were waiting")
        let busy = try connections()
        #expect(busy == idle, "Redis connections went from \(idle) to \(busy) with \(waiting) callers waiting")
        let codes = try await callers.value
        #expect(codes.count == 1000)
        #expect(codes.allSatisfy { $0 == 504 })
        try await client.shutdown()
    }

    @Test(arguments: RedisBackendKind.allCases)
    func rateLimitAndKeysHoldAcrossReplicas(backend: RedisBackendKind) async throws {
        let keys = "alice-key-0001=alice@example.com,bob-key-0002=bob@example.com"
        let cluster = try await Cluster.launch(replicas: 2, environment: ["PROXY_API_KEYS": keys, "PROXY_RATE_LIMIT": "4"], backend: backend)
        defer { cluster.stop() }
        let body: JSONValue = ["app_name": "calculator", "func_name": "add", "destination": "bob@example.com"]
        var codes: [Int] = []
        for n in 0..<6 {
            codes.append(try await cluster.http(n % 2).post("/rpc/send", body, headers: [("X-API-Key", "alice-key-0001")]).status)
        }
        #expect(codes == [200, 200, 200, 200, 429, 429])
        // What alice sent on one replica, only alice and bob may read on the other.
        let sent = try await cluster.http(0).post("/rpc/send", body, headers: [("X-API-Key", "bob-key-0002")])
        let id = try #require(sent.json?["id"]?.stringValue)
        #expect(try await cluster.http(1).get("/rpc/status/\(id)").status == 401)
        let leased = try await cluster.http(1).execute("/rpc/inbox/calculator?destination=bob@example.com&max=10", method: .GET, body: nil, headers: [("X-API-Key", "bob-key-0002")], timeout: 10)
        #expect(leased.json?["requests"]?.arrayValue?.count == 5)
    }

    @Test(arguments: RedisBackendKind.allCases)
    func sigtermHandsInFlightPushWorkBackAtOnce(backend: RedisBackendKind) async throws {
        let cluster = try await Cluster.launch(replicas: 1, environment: ["PROXY_LEASE_SECONDS": "60"], backend: backend)
        defer { cluster.stop() }
        let app = try await SlowPushApp(delay: .seconds(2))
        defer { Task { await app.stop() } }
        _ = try await cluster.http(0).put("/rpc/apps/slow/endpoint", ["destination": "bob@example.com", "url": .string(app.url)])
        let sent = try await send(cluster.http(0), app: "slow", params: ["n": 1], timeout: 60)
        let id = try #require(sent.json?["id"]?.stringValue)
        _ = try await waitForStatus(cluster.http(0), id: id, within: 5) { $0?["status"] == "processing" }
        // A second replica joins; the first is asked to stop while its delivery is in flight.
        let second = try await ProxyProcess.launch(environment: cluster.environment.merging(["PROXY_REPLICA_ID": "replica-2"]) { $1 })
        defer { second.stop() }
        let stoppedAt = Date()
        cluster.replicas[0].stop()
        #expect(cluster.replicas[0].process.terminationStatus == 0, "\(cluster.replicas[0].log)")
        let status = try await waitForStatus(HTTP(baseURL: second.baseURL), id: id, within: 20, until: isFinal)
        #expect(status?["status"] == "completed")
        // Without the hand-back it would wait for the 60 s lease.
        #expect(Date().timeIntervalSince(stoppedAt) < 15)
        #expect(app.deliveries[id] == 2, "the stopping replica did not hand its delivery back: \(app.deliveries)")
    }
}
