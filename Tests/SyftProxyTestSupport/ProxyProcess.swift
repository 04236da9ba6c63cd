import Foundation
import SyftProxyCore

/// A real `syft-proxy` process on a free loopback port, stopped when the test is done.
public final class ProxyProcess: Sendable {
    public let process: ChildProcess
    public let baseURL: String
    public let port: Int

    public static var binaryPath: String {
        if let path = ProcessInfo.processInfo.environment["SYFT_PROXY_BIN"] { return path }
        // The test bundle sits beside the products of the same build.
        let bundleDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for candidate in [bundleDirectory, bundleDirectory.deletingLastPathComponent()] {
            let path = candidate.appendingPathComponent("syft-proxy").path
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return bundleDirectory.appendingPathComponent("syft-proxy").path
    }

    /// Starts `syft-proxy serve` on a free port (or `port`) and waits, bounded and without
    /// blocking a thread of the concurrency pool, for its "listening" line.
    public static func launch(arguments: [String] = [], environment: [String: String] = [:], port: Int = 0) async throws -> ProxyProcess {
        try await launch(binary: binaryPath, arguments: ["serve", "--host", "127.0.0.1", "--port", String(port)] + arguments, environment: environment)
    }

    /// Starts any server binary that prints `syft-proxy listening on http://HOST:PORT` when ready.
    public static func launch(binary: String, arguments: [String], environment: [String: String] = [:]) async throws -> ProxyProcess {
        let process = try spawn(binary: binary, arguments: arguments, environment: environment)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let port = listeningPort(in: process.output) { return ProxyProcess(process: process, port: port) }
            try await Task.sleep(for: .milliseconds(20))
        }
        let exited = !process.isRunning
        process.kill9()
        // The reader may not have the last words of a process that just exited yet.
        process.waitForOutputEnd(within: 2)
        throw TestFailure("\(binary) \(exited ? "exited with status \(process.terminationStatus)" : "did not start within 30 s"); output:\n\(process.output)")
    }

    private init(process: ChildProcess, port: Int) {
        self.process = process
        self.port = port
        self.baseURL = "http://127.0.0.1:\(port)"
    }

    private static func listeningPort(in text: String) -> Int? {
        guard let line = text.split(separator: "\n").first(where: { $0.contains("syft-proxy listening on http://") }),
            let portText = line.split(separator: " ").first(where: { $0.hasPrefix("http://") })?.split(separator: ":").last
        else { return nil }
        return Int(portText)
    }

    /// Starts `binary` with output collected; PROXY_* variables of the test runner are not passed on.
    static func spawn(binary: String, arguments: [String], environment: [String: String]) throws -> ChildProcess {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestFailure("no executable at \(binary); run `swift build` first or set SYFT_PROXY_BIN")
        }
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PROXY_") }
        env["PROXY_LOG_LEVEL"] = "warning"
        for (key, value) in environment { env[key] = value }
        return try ChildProcess(binary, arguments, environment: env, collectOutput: true)
    }

    public var log: String { process.output }

    /// Peak and current resident memory in bytes, from /proc (Linux).
    public var memory: (peak: Int, current: Int) {
        let status = (try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8)) ?? ""
        func kilobytes(_ field: String) -> Int {
            let line = status.split(separator: "\n").first { $0.hasPrefix(field) }
            return (line?.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0) * 1024
        }
        return (kilobytes("VmHWM:"), kilobytes("VmRSS:"))
    }

    /// SIGTERM, then SIGKILL after 5 s.
    public func stop() {
        guard process.isRunning else { return }
        process.terminate()
        if !process.waitUntilExit(within: 5) { process.kill9() }
    }

    /// SIGKILL at once: a replica dying mid-request.
    public func kill9() { process.kill9() }

    deinit { stop() }
}

/// Runs a `syft-proxy` command to completion (bounded) and returns its exit status and output.
/// `environment` is added to the runner's, whose PROXY_* variables are not passed on.
public func runCommand(_ arguments: [String], environment: [String: String] = [:], timeout: Double = 60) throws -> (status: Int32, output: String) {
    let process = try ProxyProcess.spawn(binary: ProxyProcess.binaryPath, arguments: arguments, environment: environment)
    if !process.waitUntilExit(within: timeout) {
        process.terminate()
        if !process.waitUntilExit(within: 5) { process.kill9() }
    }
    process.waitForOutputEnd(within: 5)
    return (process.terminationStatus, process.output)
}
