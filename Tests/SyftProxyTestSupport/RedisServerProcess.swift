#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A throwaway `redis-server` on a free 127.0.0.1 port, without persistence. It can be stopped
/// and started again on the same port, to test outages. No server outlives the test process
/// (``WatchedServer``).
public final class RedisServerProcess: Sendable {
    public let port: Int
    /// Extra redis-server options, e.g. `["--requirepass", "secret"]`.
    public let options: [String]
    private let running = Mutex<WatchedServer?>(nil)

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// The `--requirepass` option, if given.
    public var password: String? {
        options.firstIndex(of: "--requirepass").flatMap { options.indices.contains($0 + 1) ? options[$0 + 1] : nil }
    }

    private init(port: Int, options: [String]) {
        self.port = port
        self.options = options
    }

    /// Starts a server on `port`, or on a free port: another process can take a free port
    /// between finding and binding it, so a server that fails to start there is retried on
    /// another.
    public static func launch(port: Int? = nil, options: [String] = []) async throws -> RedisServerProcess {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = RedisServerProcess(port: try port ?? FreePort.find(), options: options)
            do {
                try await server.start()
                return server
            } catch {
                lastError = error
                if port != nil { break }
            }
        }
        throw lastError ?? TestFailure("redis-server did not start")
    }

    /// Starts the server and waits (at most 10 s, without blocking a thread of the concurrency
    /// pool) until it answers as this very process.
    public func start() async throws {
        let watched = try WatchedServer.start(
            Self.binary,
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--protected-mode", "yes", "--dir", "/tmp", "--loglevel", "warning"] + options)
        let server = watched.server
        running.withLock { $0 = watched }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while clock.now < deadline {
            // Matching the pid makes sure the server answering is ours, not one that took the port.
            if RedisProbe.serverProcessID(port: port, password: password) == Int(server.processIdentifier) { return }
            if !server.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        server.waitForOutputEnd(within: 2)
        throw TestFailure("redis-server did not answer on 127.0.0.1:\(port) within 10 s:\n\(server.output)")
    }

    /// SIGKILL: the server keeps nothing worth flushing.
    public func stop() {
        running.withLock { state in defer { state = nil }; return state }?.kill()
    }

    /// Runs redis-cli against this server and returns its trimmed output.
    @discardableResult
    public func redisCLI(_ arguments: [String]) throws -> String {
        try runRedisCLI(port: port, password: password, arguments)
    }

    static var binary: String {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return "/usr/bin/redis-server"
    }

    deinit { stop() }
}

/// Runs redis-cli against 127.0.0.1:`port` (a server or a sentinel), bounded in time, and
/// returns its trimmed output.
func runRedisCLI(port: Int, password: String? = nil, _ arguments: [String], within seconds: Double = 10) throws -> String {
    let auth = password.map { ["-a", $0, "--no-auth-warning"] } ?? []
    let cli = try ChildProcess("/usr/bin/redis-cli", ["-h", "127.0.0.1", "-p", String(port), "--raw"] + auth + arguments, collectOutput: true)
    guard cli.waitUntilExit(within: seconds) else {
        cli.kill9()
        throw TestFailure("redis-cli \(arguments.joined(separator: " ")) did not finish within \(Int(seconds)) s")
    }
    cli.waitForOutputEnd(within: 2)
    return cli.output.trimmingCharacters(in: .whitespacesAndNewlines)
}
