import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// A replica on Redis behind Sentinel (a master, a replica, three sentinels): it finds the
/// master through the sentinels, and after `kill -9` of the master and the promotion of the
/// replica, calls work again on the new master without a restart.
@Suite(.serialized) struct SentinelFailoverTests {
    static let name = "syftmaster"

    /// Sends one request and answers it through the inbox: true when the round trip completed.
    static func roundTrip(_ http: HTTP) async -> Bool {
        guard let sent = try? await http.post("/rpc/send", ["app_name": "calculator", "func_name": "add", "destination": "bob@example.com", "params": ["a": 1, "b": 2]], timeout: 5),
            sent.status == 200, let id = sent.json?["id"]?.stringValue
        else { return false }
        for _ in 0..<10 {
            guard let inbox = try? await http.get("/rpc/inbox/calculator?destination=bob@example.com&max=100&wait=0.5", timeout: 5) else { continue }
            for item in inbox.json?["requests"]?.arrayValue ?? [] {
                guard let leased = item["id"]?.stringValue else { continue }
                _ = try? await http.post("/rpc/reply/\(leased)", ["result": 3], timeout: 5)
            }
            if let status = try? await http.get("/rpc/status/\(id)", timeout: 5), status.json?["status"] == "completed" { return true }
        }
        return false
    }

    /// A master, its replica and three sentinels, and a proxy replica finding the master
    /// through them, ready to serve.
    static func withSentinelDeployment(
        _ body: (_ master: RedisServerProcess, _ replica: RedisServerProcess, _ sentinels: [SentinelProcess], _ proxy: ProxyProcess, _ http: HTTP) async throws -> Void
    ) async throws {
        let master = try await RedisServerProcess.launch()
        defer { master.stop() }
        let replica = try await RedisServerProcess.launch(options: ["--replicaof", "127.0.0.1", String(master.port)])
        defer { replica.stop() }
        try await eventually("the replica syncs with the master", within: 15) { ((try? replica.redisCLI(["INFO", "replication"])) ?? "").contains("master_link_status:up") }
        var sentinels: [SentinelProcess] = []
        defer { for sentinel in sentinels { sentinel.stop() } }
        for _ in 0..<3 { sentinels.append(try await SentinelProcess.launch(masterPort: master.port, name: Self.name, quorum: 2)) }
        try await eventually("the sentinels find each other", within: 20) { sentinels.allSatisfy { $0.canFailOver(Self.name) } }
        try await eventually("the sentinels see the replica", within: 20) {
            sentinels[0].cli(["SENTINEL", "REPLICAS", Self.name]).contains(String(replica.port))
        }
        let url = "redis+sentinel://" + sentinels.map { "127.0.0.1:\($0.port)" }.joined(separator: ",") + "/\(Self.name)/0"
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_REDIS_URL": url])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        try await eventually("the replica is ready through the sentinels", within: 10) { (try? await http.get("/ready"))?.status == 200 }
        try await body(master, replica, sentinels, proxy, http)
    }

    @Test func callsResumeAfterTheMasterIsKilled() async throws {
        try await Self.withSentinelDeployment { master, replica, sentinels, proxy, http in
        #expect(try await http.get("/").json?["store_topology"]?["mode"] == "sentinel")
        #expect(await Self.roundTrip(http), "no round trip through the first master:\n\(proxy.log)")

        let killedAt = Date()
        master.stop()
        try await eventually("the sentinels promote the replica", within: 30) { sentinels[0].master(named: Self.name)?.1 == replica.port }
        let promotedAt = Date()
        try await eventually("calls resume on the promoted replica:\n\(proxy.log)", within: 20) { await Self.roundTrip(http) }
        print("sentinel failover: promoted \(String(format: "%.1f", promotedAt.timeIntervalSince(killedAt))) s after the kill, round trips again \(String(format: "%.1f", Date().timeIntervalSince(killedAt))) s after it")
        #expect(Date().timeIntervalSince(promotedAt) < 20)
        #expect(try replica.redisCLI(["ROLE"]).hasPrefix("master"))
        }
    }

    /// `SENTINEL FAILOVER`: the master is demoted while it still runs, so commands meet
    /// `READONLY` or find no connection up while the replica reconnects. None of those ran, and
    /// the replica sends them again to the promoted master. Only a command whose connection
    /// Sentinel killed after it was written may have run; that one fails (503), never twice.
    @Test func aCoordinatedFailoverFailsOnlyCallsThatMayHaveRun() async throws {
        try await Self.withSentinelDeployment { master, replica, sentinels, _, http in

        let traffic = Task {
            var sent = 0
            var failed: [String] = []
            while !Task.isCancelled {
                let answer = try? await http.post("/rpc/send", ["app_name": "calculator", "func_name": "add", "destination": "bob@example.com", "params": ["a": 1]], timeout: 10)
                if Task.isCancelled { break }
                sent += 1
                if answer?.status != 200 { failed.append("\(answer?.status ?? 0): \(answer?.text.prefix(200) ?? "no answer")") }
            }
            return (sent, failed)
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(sentinels[0].cli(["SENTINEL", "FAILOVER", Self.name]) == "OK")
        try await eventually("the sentinels promote the replica", within: 30) { sentinels[0].master(named: Self.name)?.1 == replica.port }
        try await eventually("the old master is a replica now", within: 20) { ((try? master.redisCLI(["ROLE"])) ?? "").hasPrefix("slave") }
        try await Task.sleep(for: .seconds(1))
        traffic.cancel()
        let (sent, failed) = await traffic.value
        let refusedUnrun = failed.filter { $0.contains("READONLY") || $0.contains("none of the") }
        print("coordinated sentinel failover: \(sent) sends, \(failed.count) failed, all with their connection lost mid-flight: \(refusedUnrun.isEmpty)")
        #expect(sent > 20)
        #expect(refusedUnrun.isEmpty, "\(refusedUnrun.count) sends failed that never ran: \(refusedUnrun.prefix(3))")
        #expect(failed.count * 50 < sent, "\(failed.count) of \(sent) sends failed: \(failed.prefix(3))")
        }
    }
}
