import SyftProxyTestSupport
import Testing
@testable import SyftProxyRedis

@Suite(.serialized) struct ModeDetectionTests {
    /// Runs `deployment` while `body` looks at it.
    func running<T>(_ deployment: RedisAutoDeployment, isolation: isolated (any Actor)? = #isolation, _ body: () async throws -> T) async throws -> T {
        let task = Task { await deployment.run() }
        do {
            let result = try await body()
            await deployment.shutdown()
            await task.value
            return result
        } catch {
            await deployment.shutdown()
            await task.value
            throw error
        }
    }

    @Test func plainRedisIsStandalone() async throws {
        try await withRedisServer { server in
            let deployment = RedisAutoDeployment(configuration: try RedisConfiguration(url: server.url), logger: testLogger)
            try await running(deployment) {
                try await eventually("detected") { deployment.topology.mode != .unknown }
                #expect(deployment.topology.mode == .standalone)
                try await eventually("connected") { deployment.topology.reachableNodes == 1 }
                #expect(try await deployment.send(RedisCommand("SET", "k", "v"), routingKey: "k") == .simpleString("OK"))
            }
        }
    }

    @Test func oneClusterNodeIsEnoughAndADownSeedIsSkipped() async throws {
        let cluster = try await RedisClusterProcess.launch(masters: 3)
        defer { cluster.stop() }
        let single = RedisAutoDeployment(configuration: try RedisConfiguration(url: "redis://127.0.0.1:\(cluster.servers[2].port)"), logger: testLogger)
        try await running(single) {
            try await eventually("the cluster is discovered") { single.topology.mode == .cluster && single.topology.reachableNodes == 3 }
            #expect(single.topology.nodes == 3)
            #expect(try await single.send(RedisCommand("SET", "foo", "1"), routingKey: "foo") == .simpleString("OK"))
        }
        let deadPort = try FreePort.find()
        let seeds = try RedisConfiguration(url: "redis://127.0.0.1:\(deadPort),127.0.0.1:\(cluster.servers[1].port)")
        #expect(seeds.clusterSeeds.count == 2)
        let several = RedisAutoDeployment(configuration: seeds, logger: testLogger)
        try await running(several) {
            try await eventually("discovered past the dead seed") { several.topology.mode == .cluster && several.topology.reachableNodes == 3 }
            #expect(try await several.send(RedisCommand("GET", "foo"), routingKey: "foo") == .bulk("1"))
        }
    }

    @Test func aSentinelURLIsSentinelWithoutAsking() async throws {
        let port = try FreePort.find()
        let deployment = RedisAutoDeployment(configuration: try RedisConfiguration(url: "redis+sentinel://127.0.0.1:\(port)/mymaster"), logger: testLogger)
        try await running(deployment) {
            try await eventually("detected") { deployment.topology.mode == .sentinel }
            // No sentinel answers: known as Sentinel, nothing reachable.
            #expect(deployment.topology.reachableNodes == 0)
        }
    }

    @Test func unknownUntilRedisAnswers() async throws {
        let port = try FreePort.find()
        let deployment = RedisAutoDeployment(configuration: RedisConfiguration(host: "127.0.0.1", port: port), logger: testLogger)
        try await running(deployment) {
            try await Task.sleep(for: .milliseconds(100))
            #expect(deployment.topology == RedisTopology(mode: .unknown, nodes: 0, reachableNodes: 0))
            let clock = ContinuousClock()
            let started = clock.now
            await #expect {
                try await deployment.send(RedisCommand("PING"), routingKey: nil)
            } throws: { error in
                guard case RedisError.unavailable(let message) = error else { return false }
                return message.contains("127.0.0.1:\(port)")
            }
            #expect(clock.now - started < .milliseconds(500))
            // Redis comes up later: detected by itself.
            let server = try await RedisServerProcess.launch(port: port)
            defer { server.stop() }
            try await eventually("detected once Redis is up", within: 10) { deployment.topology.mode == .standalone }
        }
    }
}
