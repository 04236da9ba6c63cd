import Foundation

/// A throwaway Redis Sentinel on a free 127.0.0.1 port, monitoring one master with short
/// timeouts so a failover takes seconds, not minutes. Stopped by `stop()` or when released.
public final class SentinelProcess: Sendable {
    public let port: Int
    private let directory: String
    private let process: ChildProcess

    /// Starts a sentinel watching the master on `masterPort` as `name`; `quorum` sentinels
    /// must agree that it is down.
    public static func launch(masterPort: Int, name: String, quorum: Int) async throws -> SentinelProcess {
        let port = try FreePort.find()
        let directory = NSTemporaryDirectory() + "syft-proxy-sentinel-" + UUID().uuidString.lowercased()
        let configuration = """
            port \(port)
            bind 127.0.0.1
            daemonize no
            dir \(directory)
            sentinel monitor \(name) 127.0.0.1 \(masterPort) \(quorum)
            sentinel down-after-milliseconds \(name) 1000
            sentinel failover-timeout \(name) 4000
            sentinel parallel-syncs \(name) 1

            """
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // Sentinel rewrites its configuration file as it learns the topology, so it needs one of its own.
        try configuration.write(toFile: directory + "/sentinel.conf", atomically: true, encoding: .utf8)
        let process = try ChildProcess(RedisServerProcess.binary, [directory + "/sentinel.conf", "--sentinel", "--loglevel", "warning"], collectOutput: true)
        let sentinel = SentinelProcess(port: port, directory: directory, process: process)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while clock.now < deadline, process.isRunning {
            if FreePort.isListening(port) { return sentinel }
            try await Task.sleep(for: .milliseconds(20))
        }
        sentinel.stop()
        throw TestFailure("redis sentinel did not listen on port \(port) within 10 s:\n\(process.output)")
    }

    private init(port: Int, directory: String, process: ChildProcess) {
        self.port = port
        self.directory = directory
        self.process = process
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

    /// Runs redis-cli against this sentinel and returns its output ("" when it cannot run).
    public func cli(_ arguments: [String]) -> String {
        (try? runRedisCLI(port: port, arguments)) ?? ""
    }

    public func stop() {
        process.kill9()
        try? FileManager.default.removeItem(atPath: directory)
    }

    deinit { stop() }
}
