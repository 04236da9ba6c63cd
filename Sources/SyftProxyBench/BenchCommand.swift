import ArgumentParser
import Foundation
import Hummingbird
import Logging
import NIOCore
import SyftProxyCore
import SyftProxyRedis
import SyftProxyTestSupport

@main
struct SyftProxyBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "syft-proxy-bench",
        abstract: "Round-trip latency and throughput of syft-proxy, with in-run baselines.",
        subcommands: [RunCommand.self, RedisModesCommand.self, EchoServerCommand.self, LoadCommand.self, CodecCommand.self],
        defaultSubcommand: RunCommand.self)
}

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "run", abstract: "Start Redis, replicas and responders, measure, print a table and write JSON.")

    @Option(help: "Seconds per measured cell.") var duration = 3.0
    @Option(help: "Concurrency levels, comma separated.") var concurrency = "1,16,64,256"
    @Option(help: "Where to write the JSON results.") var output = "bench-results.json"
    @Flag(help: "One second per cell at concurrency 1 and 64 only.") var quick = false

    func run() async throws {
        let levels = quick ? [1, 64] : concurrency.split(separator: ",").compactMap { Int($0) }
        let seconds = quick ? 1.0 : duration
        let benchBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
        let proxyBinary = ProcessInfo.processInfo.environment["SYFT_PROXY_BIN"]
            ?? URL(fileURLWithPath: benchBinary).deletingLastPathComponent().appendingPathComponent("syft-proxy").path
        var report = Report(levels: levels)
        let load = LoadClient.make(connections: (levels.max() ?? 64) + 64)
        defer { Task { await load.shutdown() } }

        // Baselines: the bare server stack, and raw Redis through the project's client.
        let echo = try await ProxyProcess.launch(binary: benchBinary, arguments: ["echo-server"])
        for level in levels {
            let cell = await measure(concurrency: level, duration: seconds) { n in
                let (status, _) = try await load.post("\(echo.baseURL)/echo", sendBody(app: "echo", destination: "b@x.com", blocking: true, n: n))
                guard status == 200 else { throw BenchError("echo answered \(status)") }
            }
            report.add(scenario: "baseline: HTTP echo", level: level, cell)
        }
        echo.stop()

        let redis = try await RedisServerProcess.launch()
        defer { redis.stop() }
        try await measureRawRedis(redis: redis, levels: levels, seconds: seconds, into: &report)
        try await measureNATS(levels: levels, seconds: seconds, into: &report)

        for (store, replicaCounts) in [("redis", [1, 3]), ("memory", [1])] {
            for replicas in replicaCounts {
                try await measureTopology(store: store, replicas: replicas, redis: redis, proxyBinary: proxyBinary, load: load, levels: levels, seconds: seconds, into: &report)
            }
        }
        report.print()
        try report.write(to: output)
        Swift.print("\nJSON written to \(output)")
    }

    private func measureRawRedis(redis: RedisServerProcess, levels: [Int], seconds: Double, into report: inout Report) async throws {
        let pool = RedisConnectionPool(configuration: try RedisConfiguration(url: redis.url), connectionCount: 4, logger: Logger(label: "bench"))
        let running = Task { await pool.run() }
        defer { running.cancel() }
        for _ in 0..<100 where pool.connectedCount < 4 { try await Task.sleep(for: .milliseconds(20)) }
        for level in levels {
            report.add(scenario: "baseline: Redis PING", level: level, await measure(concurrency: level, duration: seconds) { _ in
                _ = try await pool.send(RedisCommand("PING"))
            })
            report.add(scenario: "baseline: Redis LPUSH+RPOP", level: level, await measure(concurrency: level, duration: seconds) { n in
                _ = try await pool.send(RedisCommand("LPUSH", "bench:list", String(n)))
                _ = try await pool.send(RedisCommand("RPOP", "bench:list"))
            })
        }
        _ = try await pool.send(RedisCommand("FLUSHALL"))
    }

    private func measureTopology(store: String, replicas: Int, redis: RedisServerProcess, proxyBinary: String, load: LoadClient,
                                 levels: [Int], seconds: Double, into report: inout Report) async throws {
        var environment = ["PROXY_LOG_LEVEL": "error", "PROXY_MAX_REQUESTS": "100000"]
        if store == "redis" { environment["PROXY_REDIS_URL"] = redis.url }
        func launchReplicas() async throws -> [ProxyProcess] {
            var launched: [ProxyProcess] = []
            for index in 1...replicas {
                environment["PROXY_REPLICA_ID"] = "bench-\(index)"
                launched.append(try await ProxyProcess.launch(binary: proxyBinary, arguments: ["serve", "--host", "127.0.0.1", "--port", "0"], environment: environment))
            }
            return launched
        }
        var processes = try await launchReplicas()
        defer { for process in processes { process.stop() } }
        let urls = processes.map(\.baseURL)
        let topology = "\(store), \(replicas) replica\(replicas == 1 ? "" : "s")"
        try await Task.sleep(for: .milliseconds(300))
        report.memory["\(topology): idle RSS MB"] = processes.map { Double($0.memory.current) / 1_048_576 }

        // Blocking round trips, pull mode.
        let pull = runPullResponders(load, urls: urls, app: "bench-pull", destination: "pull@bench.local", consumers: 4 * replicas)
        for level in levels {
            report.add(scenario: "\(topology): blocking pull", level: level, await measure(
                concurrency: level, duration: seconds, blockingRoundTrip(load, urls: urls, app: "bench-pull", destination: "pull@bench.local")))
        }
        pull.cancel()
        _ = await pull.value

        // Blocking round trips, push mode, to an app in this process.
        let pushApp = try await PushEcho.start()
        let (registered, _) = try await load.put("\(urls[0])/rpc/apps/bench-push/endpoint", JSONValue.object(["destination": "push@bench.local", "url": .string(pushApp.baseURL + "/rpc")]).compactBytes)
        guard registered == 200 else { throw BenchError("push endpoint registration answered \(registered)") }
        for level in levels {
            report.add(scenario: "\(topology): blocking push", level: level, await measure(
                concurrency: level, duration: seconds, blockingRoundTrip(load, urls: urls, app: "bench-push", destination: "push@bench.local")))
        }
        await pushApp.stop()

        // Blocking round trips, WebSocket mode: items out and answers back as frames.
        let sockets = runSocketResponders(urls: urls, app: "bench-socket", destination: "socket@bench.local", consumers: 4 * replicas)
        try await Task.sleep(for: .milliseconds(300))
        for level in levels {
            report.add(scenario: "\(topology): blocking websocket", level: level, await measure(
                concurrency: level, duration: seconds, blockingRoundTrip(load, urls: urls, app: "bench-socket", destination: "socket@bench.local")))
        }
        sockets.cancel()
        _ = await sockets.value

        // Non-blocking sends, then draining them, then status reads.
        let sends = await measure(concurrency: 64, duration: seconds) { n in
            let (status, _) = try await load.post("\(urls[n % urls.count])/rpc/send", sendBody(app: "bench-drain", destination: "drain@bench.local", blocking: false, n: n))
            guard status == 200 else { throw BenchError("send answered \(status)") }
        }
        report.rates["\(topology): non-blocking send /s"] = sends.perSecond
        let drainStarted = Date()
        let drained = await drain(load, urls: urls, expected: Int(sends.count))
        report.rates["\(topology): drain (lease+reply) /s"] = Double(drained) / Date().timeIntervalSince(drainStarted)
        let (_, sample) = try await load.post("\(urls[0])/rpc/send", sendBody(app: "bench-drain", destination: "drain@bench.local", blocking: false, n: 0))
        let id = sample?["id"]?.stringValue ?? ""
        let reads = await measure(concurrency: 64, duration: seconds) { n in
            let (status, _) = try await load.get("\(urls[n % urls.count])/rpc/status/\(id)")
            guard status == 200 else { throw BenchError("status answered \(status)") }
        }
        report.rates["\(topology): status read /s"] = reads.perSecond

        report.memory["\(topology): peak RSS MB over the throughput runs"] = processes.map { Double($0.memory.peak) / 1_048_576 }

        // 1,000 callers waiting at once, on fresh replicas: what waiting callers cost, apart
        // from the records the runs above left behind (the embedded store keeps each one for
        // PROXY_REQUEST_TTL).
        for process in processes { process.stop() }
        if store == "redis" { _ = try redis.redisCLI(["FLUSHALL"]) }
        processes = try await launchReplicas()
        let freshURLs = processes.map(\.baseURL)
        try await Task.sleep(for: .milliseconds(300))
        let idleConnections = store == "redis" ? try redisClients(redis) : 0
        let waiters = Task {
            await withTaskGroup(of: Void.self) { group in
                for n in 0..<1000 {
                    group.addTask { _ = try? await load.post("\(freshURLs[n % freshURLs.count])/rpc/send", sendBody(app: "bench-wait", destination: "nobody@bench.local", blocking: true, n: n)) }
                }
            }
        }
        try await Task.sleep(for: .seconds(2))
        if store == "redis" {
            let busy = try redisClients(redis)
            report.connections[topology] = ["idle_per_replica": Double(idleConnections) / Double(replicas), "with_1000_waiting_per_replica": Double(busy) / Double(replicas)]
        }
        report.memory["\(topology): RSS MB with 1000 waiting"] = processes.map { Double($0.memory.current) / 1_048_576 }
        waiters.cancel()
        for process in processes { process.stop() }
        _ = await waiters.value
        if store == "redis" { _ = try redis.redisCLI(["FLUSHALL"]) }
    }

    private func drain(_ load: LoadClient, urls: [String], expected: Int) async -> Int {
        await withTaskGroup(of: Int.self) { group in
            for consumer in 0..<8 {
                let base = urls[consumer % urls.count]
                group.addTask {
                    var done = 0
                    var empty = 0
                    while empty < 3 {
                        let items = (try? await load.get("\(base)/rpc/inbox/bench-drain?destination=drain@bench.local&max=100"))?.1?["requests"]?.arrayValue ?? []
                        if items.isEmpty { empty += 1; continue }
                        empty = 0
                        await withTaskGroup(of: Void.self) { replies in
                            for item in items {
                                guard let id = item["id"]?.stringValue else { continue }
                                replies.addTask { _ = try? await load.post("\(base)/rpc/reply/\(id)", JSONValue.object(["result": 1]).compactBytes) }
                            }
                        }
                        done += items.count
                    }
                    return done
                }
            }
            var total = 0
            for await part in group { total += part }
            return min(total, max(total, expected))
        }
    }

    /// Connections Redis sees, not counting the redis-cli asking.
    private func redisClients(_ redis: RedisServerProcess) throws -> Int {
        try redis.redisCLI(["CLIENT", "LIST"]).split(separator: "\n").filter { !$0.contains("cmd=client") }.count
    }
}

/// App B in push mode inside the benchmark process: answers each delivery with its params.
enum PushEcho {
    static func start() async throws -> LoopbackServer {
        try await LoopbackServer.start { router in
            router.post("/rpc") { request, _ -> Response in
                jsonResponse(["result": try await jsonBody(request)["params"] ?? .null])
            }
        }
    }
}
