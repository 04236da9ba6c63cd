import ArgumentParser
import Foundation
import SyftProxyCore
import SyftProxyTestSupport

/// One replica on each Redis deployment the store runs on: one redis-server, a three-master
/// Redis Cluster, and one redis-server over TLS, measured in one run so the figures compare.
struct RedisModesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "redis-modes", abstract: "Pull, push and WebSocket round trips on a single Redis, a three-master cluster and TLS, with Redis commands per round trip.")

    @Option(help: "Seconds per measured cell.") var duration = 3.0
    @Option(help: "Concurrency levels, comma separated.") var concurrency = "1,16,64"
    @Option(help: "Where to write the JSON results.") var output = "bench-redis-modes.json"

    func run() async throws {
        let levels = concurrency.split(separator: ",").compactMap { Int($0) }
        var report = Report(levels: levels)
        let load = LoadClient.make(connections: (levels.max() ?? 64) + 64)
        try await RedisModes.measureAll(proxyBinary: proxyBinaryPath(), load: load, levels: levels, seconds: duration, into: &report)
        await load.shutdown()
        report.print()
        try report.write(to: output)
        Swift.print("\nJSON written to \(output)")
    }
}

/// The syft-proxy binary next to the benchmark's, unless SYFT_PROXY_BIN names another.
func proxyBinaryPath() -> String {
    let benchBinary = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().path
    return ProcessInfo.processInfo.environment["SYFT_PROXY_BIN"]
        ?? URL(fileURLWithPath: benchBinary).deletingLastPathComponent().appendingPathComponent("syft-proxy").path
}

enum RedisModes {
    /// A Redis deployment under test: the URL and settings a replica needs, the ports of its
    /// masters (where commands are counted), and how to stop it.
    struct Deployment {
        let name: String
        let environment: [String: String]
        let masterPorts: [Int]
        let stop: () -> Void
    }

    static func measureAll(proxyBinary: String, load: LoadClient, levels: [Int], seconds: Double, into report: inout Report) async throws {
        for deployment in [try await single(), try await cluster(), try await tls()] {
            defer { deployment.stop() }
            try await measureDeployment(deployment, proxyBinary: proxyBinary, load: load, levels: levels, seconds: seconds, into: &report)
        }
    }

    static func single() async throws -> Deployment {
        let redis = try await RedisServerProcess.launch()
        return Deployment(name: "single Redis", environment: ["PROXY_REDIS_URL": redis.url], masterPorts: [redis.port], stop: { redis.stop() })
    }

    static func cluster() async throws -> Deployment {
        let cluster = try await RedisClusterProcess.launch(masters: 3)
        return Deployment(name: "Redis Cluster, 3 masters", environment: ["PROXY_REDIS_URL": cluster.seedURL],
                          masterPorts: cluster.servers.map(\.port), stop: { cluster.stop() })
    }

    static func tls() async throws -> Deployment {
        let certificates = try TestCertificates.make()
        let tlsPort = try FreePort.find()
        let redis = try await RedisServerProcess.launch(options: [
            "--tls-port", String(tlsPort), "--tls-cert-file", certificates.serverCertificate, "--tls-key-file", certificates.serverKey,
            "--tls-ca-cert-file", certificates.caFile, "--tls-auth-clients", "no",
        ])
        return Deployment(
            name: "single Redis over TLS",
            environment: ["PROXY_REDIS_URL": "rediss://localhost:\(tlsPort)/0", "PROXY_REDIS_TLS_CA_FILE": certificates.caFile],
            masterPorts: [redis.port], stop: { redis.stop(); certificates.remove() })
    }

    static func measureDeployment(_ deployment: Deployment, proxyBinary: String, load: LoadClient, levels: [Int], seconds: Double,
                        into report: inout Report) async throws {
        var environment = deployment.environment
        environment["PROXY_LOG_LEVEL"] = "error"
        environment["PROXY_MAX_REQUESTS"] = "100000"
        let proxy = try await ProxyProcess.launch(binary: proxyBinary, arguments: ["serve", "--host", "127.0.0.1", "--port", "0"], environment: environment)
        defer { proxy.stop() }
        let base = proxy.baseURL
        try await waitUntilReady(load, base)

        let pull = runPullResponders(load, urls: [base], app: "modes-pull", destination: "pull@bench.local", consumers: 4)
        try await measureRoundTrips("pull", app: "modes-pull", destination: "pull@bench.local", base: base, deployment, load: load, levels: levels, seconds: seconds, into: &report)
        pull.cancel()
        _ = await pull.value

        let pushApp = try await PushEcho.start()
        let (registered, _) = try await load.put("\(base)/rpc/apps/modes-push/endpoint", JSONValue.object(["destination": "push@bench.local", "url": .string(pushApp.baseURL + "/rpc")]).compactBytes)
        guard registered == 200 else { throw BenchError("push endpoint registration answered \(registered)") }
        try await measureRoundTrips("push", app: "modes-push", destination: "push@bench.local", base: base, deployment, load: load, levels: levels, seconds: seconds, into: &report)
        await pushApp.stop()

        let sockets = runSocketResponders(urls: [base], app: "modes-socket", destination: "socket@bench.local", consumers: 4)
        try await Task.sleep(for: .milliseconds(300))
        try await measureRoundTrips("websocket", app: "modes-socket", destination: "socket@bench.local", base: base, deployment, load: load, levels: levels, seconds: seconds, into: &report)
        sockets.cancel()
        _ = await sockets.value
    }

    /// Blocking round trips to `app` at each level, then the Redis commands one costs.
    private static func measureRoundTrips(_ mode: String, app: String, destination: String, base: String, _ deployment: Deployment, load: LoadClient,
                                          levels: [Int], seconds: Double, into report: inout Report) async throws {
        let roundTrip = blockingRoundTrip(load, urls: [base], app: app, destination: destination)
        for level in levels {
            report.add(scenario: "\(deployment.name): blocking \(mode)", level: level, await measure(concurrency: level, duration: seconds, roundTrip))
        }
        record(try await commandsPerRoundTrip(deployment, roundTrips: 1000, roundTrip), as: "\(deployment.name): Redis commands per \(mode) round trip", into: &report)
    }

    private static func waitUntilReady(_ load: LoadClient, _ base: String) async throws {
        for _ in 0..<200 {
            if let (status, _) = try? await load.get("\(base)/ready"), status == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw BenchError("the replica at \(base) did not become ready within 10 s")
    }

    private static func record(_ commands: [String: Double], as name: String, into report: inout Report) {
        report.rates[name] = commands.values.reduce(0, +)
        for (command, perRoundTrip) in commands where perRoundTrip >= 0.05 { report.rates["\(name): \(command)"] = perRoundTrip }
    }

    /// Commands clients sent to the masters per round trip, by command name, over `roundTrips`
    /// sequential round trips. `MONITOR` shows every command a client sends and, marked `lua`,
    /// each one a script runs; only the former are counted, so a script counts once however
    /// much it does. The replica's background work (sweeps, gauges, pings) is measured in an
    /// idle window as long as the traffic window right after it, and taken off.
    static func commandsPerRoundTrip(_ deployment: Deployment, roundTrips: Int, _ roundTrip: @Sendable (Int) async throws -> Void) async throws -> [String: Double] {
        let clock = ContinuousClock()
        let started = clock.now
        let busy = try await monitor(deployment) {
            for n in 0..<roundTrips { try await roundTrip(n) }
        }
        let window = clock.now - started
        let idle = try await monitor(deployment) { try await Task.sleep(for: window) }
        var perRoundTrip: [String: Double] = [:]
        for (command, count) in busy {
            perRoundTrip[command] = max(0, Double(count - idle[command, default: 0])) / Double(roundTrips)
        }
        return perRoundTrip
    }

    /// Commands clients sent to the masters while `body` ran, by name.
    private static func monitor(_ deployment: Deployment, while body: () async throws -> Void) async throws -> [String: Int] {
        let monitors = try deployment.masterPorts.map { port in
            try ChildProcess("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(port), "monitor"], collectOutput: true)
        }
        defer { for monitor in monitors { monitor.kill9() } }
        // MONITOR needs a moment before it reports; the same margin ends each window.
        try await Task.sleep(for: .milliseconds(300))
        try await body()
        try await Task.sleep(for: .milliseconds(300))
        for monitor in monitors { monitor.kill9(); monitor.waitForOutputEnd(within: 2) }
        var sent: [String: Int] = [:]
        for monitor in monitors {
            for line in monitor.output.split(separator: "\n") where !line.contains(" lua] ") {
                // `<time> [<db> <client>] "COMMAND" "arg" ...`
                guard let start = line.range(of: "] \"")?.upperBound, let end = line[start...].firstIndex(of: "\"") else { continue }
                sent[line[start..<end].uppercased(), default: 0] += 1
            }
        }
        return sent
    }
}
