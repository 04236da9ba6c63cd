import Foundation
import Synchronization
import SyftProxyCore

/// A real `syft-proxy` process on a free loopback port, stopped when the test is done.
public final class ProxyProcess: Sendable {
    public let process: Process
    public let baseURL: String
    public let port: Int
    private let output: OutputCollector

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
        let (process, collector, _) = try spawn(binary: binary, arguments: arguments, environment: environment)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let port = listeningPort(in: collector.text) { return ProxyProcess(process: process, output: collector, port: port) }
            try await Task.sleep(for: .milliseconds(20))
        }
        process.terminate()
        throw ProcessError("\(binary) did not start within 30 s; output:\n\(collector.text)")
    }

    private init(process: Process, output: OutputCollector, port: Int) {
        self.process = process
        self.output = output
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
    static func spawn(binary: String, arguments: [String], environment: [String: String]) throws -> (Process, OutputCollector, Pipe) {
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw ProcessError("no executable at \(binary); run `swift build` first or set SYFT_PROXY_BIN")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("PROXY_") }
        env["PROXY_LOG_LEVEL"] = "warning"
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let collector = OutputCollector()
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        pipe.fileHandleForReading.readabilityHandler = { handle in collector.append(handle.availableData) }
        try process.run()
        return (process, collector, pipe)
    }

    public var log: String { output.text }

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
        let deadline = Date().addingTimeInterval(5)
        while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGKILL at once: a replica dying mid-request.
    public func kill9() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    deinit { stop() }
}

public final class OutputCollector: Sendable {
    private let buffer = Mutex(Data())
    public init() {}
    public func append(_ data: Data) { buffer.withLock { $0.append(data) } }
    public var text: String { buffer.withLock { String(decoding: $0, as: UTF8.self) } }
}

public struct ProcessError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// Runs a command to completion (bounded) and returns its exit status and output.
public func runCommand(_ arguments: [String], timeout: Double = 60, environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let (process, collector, pipe) = try ProxyProcess.spawn(binary: ProxyProcess.binaryPath, arguments: arguments, environment: environment)
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning, Date() < deadline { Thread.sleep(forTimeInterval: 0.02) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    pipe.fileHandleForReading.readabilityHandler = nil
    collector.append(pipe.fileHandleForReading.readDataToEndOfFile())
    return (process.terminationStatus, collector.text)
}
