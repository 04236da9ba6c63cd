#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization
import SyftProxyRedis
import SyftProxyTestSupport

/// A throwaway `redis-server` on a free 127.0.0.1 port, without persistence. It can be stopped
/// and started again on the same port, to test outages.
///
/// No server outlives the test process: each one has a watchdog shell reading a socket only this
/// process holds open, so if the process dies, even by SIGKILL, the socket closes and the
/// watchdog kills the server.
final class RedisServerProcess: Sendable {
    let port: Int
    /// Extra redis-server options, e.g. `["--requirepass", "secret"]`.
    let options: [String]
    private let running = Mutex<Running?>(nil)

    private struct Running {
        let server: pid_t
        let watchdog: pid_t
        let lifeline: Int32
    }

    /// The `--requirepass` option, if given.
    private var password: String? {
        options.firstIndex(of: "--requirepass").flatMap { options.indices.contains($0 + 1) ? options[$0 + 1] : nil }
    }

    var url: String { "redis://127.0.0.1:\(port)/0" }

    var configuration: RedisConfiguration { RedisConfiguration(host: "127.0.0.1", port: port) }

    private init(port: Int, options: [String]) {
        self.port = port
        self.options = options
    }

    /// Starts a server on a free port. Another process can take a free port between finding
    /// and binding it, so a server that fails to start is retried on another port.
    static func launch(options: [String] = []) async throws -> RedisServerProcess {
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = RedisServerProcess(port: try FreePort.find(), options: options)
            do {
                try await server.start()
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestFailure("redis-server did not start")
    }

    /// Starts the server and waits (at most 5 s) until it answers as this very process.
    func start() async throws {
        let server = try Spawn.run(
            "/usr/bin/redis-server",
            ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no",
             "--protected-mode", "yes", "--dir", "/tmp", "--loglevel", "warning"] + options)
        let lifeline = try Spawn.lifeline()
        let watchdog: pid_t
        do {
            watchdog = try Spawn.run("/bin/sh", ["-c", "read _; kill -KILL \(server) 2>/dev/null"], stdin: lifeline.read)
        } catch {
            close(lifeline.read)
            close(lifeline.write)
            Spawn.terminate(server)
            throw error
        }
        close(lifeline.read)
        running.withLock { $0 = Running(server: server, watchdog: watchdog, lifeline: lifeline.write) }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(5)
        while clock.now < deadline {
            // Matching the pid makes sure the server answering is ours, not one that took the port.
            if RedisProbe.serverProcessID(port: port, password: password) == Int(server) { return }
            if Spawn.hasExited(server) { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await stop()
        throw TestFailure("redis-server did not answer on 127.0.0.1:\(port) within 5 s")
    }

    /// SIGTERM, then SIGKILL if the server is still there after 2 s.
    func stop() async {
        guard let current = running.withLock({ state in defer { state = nil }; return state }) else { return }
        kill(current.server, SIGTERM)
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(2)
        while clock.now < deadline, !Spawn.hasExited(current.server) {
            try? await Task.sleep(for: .milliseconds(10))
        }
        Spawn.terminate(current.server)
        Spawn.terminate(current.watchdog)
        close(current.lifeline)
    }

    deinit {
        // Last resort for a test that forgot to stop it.
        if let current = running.withLock({ $0 }) {
            Spawn.terminate(current.server)
            Spawn.terminate(current.watchdog)
            close(current.lifeline)
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
