import Foundation
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// `syft-proxy health` against a real replica whose Redis goes away: the replica is alive but
/// not ready. A liveness probe (`--live`) must not fail then, or an orchestrator restarts every
/// replica for an outage none of them can fix; the full check must.
@Suite struct HealthLivenessTests {
    @Test func liveWhileItsStoreIsDownReadyOnlyWithIt() async throws {
        let redis = try await RedisServerProcess.launch()
        defer { redis.stop() }
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_REDIS_URL": redis.url])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)

        let ready = try await Self.cli(["health", "--url", proxy.baseURL, "--timeout", "10"])
        #expect(ready.status == 0, "\(ready.output)")
        #expect(try await Self.cli(["health", "--live", "--url", proxy.baseURL, "--timeout", "10"]).status == 0)

        redis.stop()
        try await eventually("the replica notices its store is gone", within: 15) { (try? await http.get("/ready", timeout: 5).status) == 503 }
        let notReady = try await Self.cli(["health", "--url", proxy.baseURL, "--timeout", "10"])
        #expect(notReady.status == 1, "\(notReady.output)")
        #expect(notReady.output.contains("ready:  503"), "\(notReady.output)")
        let live = try await Self.cli(["health", "--live", "--url", proxy.baseURL, "--timeout", "10"])
        #expect(live.status == 0, "\(live.output)")
        #expect(live.output.contains("health: 200") && !live.output.contains("ready:"), "\(live.output)")
        #expect(proxy.process.isRunning)

        // Nothing listening: unreachable, with or without --live.
        let port = try FreePort.find()
        for arguments in [["health"], ["health", "--live"]] {
            let unreachable = try await Self.cli(arguments + ["--url", "http://127.0.0.1:\(port)", "--timeout", "5"])
            #expect(unreachable.status == 2, "\(arguments): \(unreachable.output)")
            #expect(unreachable.output.contains("unreachable"), "\(unreachable.output)")
        }
    }

    /// `syft-proxy ARGUMENTS`, to completion (bounded): its exit status and output. It runs on
    /// a thread of its own, not the concurrency pool's (a waiting CLI would hold one of its few
    /// threads), and reads the output with a plain blocking read, no dispatch source.
    static func cli(_ arguments: [String], timeout: Double = 30) async throws -> (status: Int32, output: String) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                continuation.resume(with: Result { try runToCompletion(arguments, timeout: timeout) })
            }
            thread.start()
        }
    }

    private static func runToCompletion(_ arguments: [String], timeout: Double) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: ProxyProcess.binaryPath)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PROXY_") }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let killer = Thread {
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning, Date() < deadline { usleep(20_000) }
            if process.isRunning { process.terminate() }
        }
        killer.start()
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: output, as: UTF8.self))
    }
}
