import Foundation
import Synchronization

/// A throwaway Redis Sentinel on a free 127.0.0.1 port, monitoring one master with short
/// timeouts so a failover takes seconds, not minutes. Stopped by `stop()`.
public final class SentinelProcess: Sendable {
    public let port: Int
    private let directory: String
    private let current = Mutex<Process?>(nil)
    private let output = OutputCollector()

    /// Starts a sentinel watching the master on `masterPort` as `name`; `quorum` sentinels
    /// must agree that it is down.
    public static func launch(masterPort: Int, name: String, quorum: Int) async throws -> SentinelProcess {
        let sentinel = SentinelProcess(port: try FreePort.find())
        let configuration = """
            port \(sentinel.port)
            bind 127.0.0.1
            daemonize no
            dir \(sentinel.directory)
            sentinel monitor \(name) 127.0.0.1 \(masterPort) \(quorum)
            sentinel down-after-milliseconds \(name) 1000
            sentinel failover-timeout \(name) 4000
            sentinel parallel-syncs \(name) 1

            """
        try FileManager.default.createDirectory(atPath: sentinel.directory, withIntermediateDirectories: true)
        // Sentinel rewrites its configuration file as it learns the topology, so it needs one of its own.
        try configuration.write(toFile: sentinel.directory + "/sentinel.conf", atomically: true, encoding: .utf8)
        try await sentinel.start()
        return sentinel
    }

    private init(port: Int) {
        self.port = port
        self.directory = NSTemporaryDirectory() + "syft-proxy-sentinel-" + UUID().uuidString.lowercased()
    }

    private func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RedisServerProcess.binary)
        process.arguments = [directory + "/sentinel.conf", "--sentinel", "--loglevel", "warning"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        current.withLock { $0 = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, process.isRunning {
            if FreePort.isListening(port) { return }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        throw ProcessError("redis sentinel did not listen on port \(port) within 10 s:\n\(output.text)")
    }

    /// The master's address as this sentinel sees it now: (host, port).
    public func master(named name: String) -> (String, Int)? {
        let lines = cli(["SENTINEL", "get-master-addr-by-name", name]).split(separator: "\n")
        guard lines.count == 2, let port = Int(lines[1]) else { return nil }
        return (String(lines[0]), port)
    }

    /// Whether enough sentinels know each other to elect a leader and fail `name` over.
    public func canFailOver(_ name: String) -> Bool {
        cli(["SENTINEL", "ckquorum", name]).hasPrefix("OK")
    }

    /// Runs redis-cli against this sentinel and returns its output.
    public func cli(_ arguments: [String]) -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["-h", "127.0.0.1", "-p", String(port), "--raw"] + arguments
        let pipe = Pipe()
        cli.standardOutput = pipe
        cli.standardError = pipe
        guard (try? cli.run()) != nil else { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    public func stop() {
        if let process = current.withLock({ $0 }), process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        current.withLock { $0 = nil }
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
