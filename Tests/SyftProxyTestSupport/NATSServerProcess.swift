#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A throwaway `nats-server` on a free 127.0.0.1 port: core NATS only, no JetStream, nothing on
/// disk. Like `RedisServerProcess`, a watchdog kills it if this process dies without stopping it.
public final class NATSServerProcess: Sendable {
    public let port: Int
    /// The server's name in its INFO, unique per launch: tells this server from another that
    /// took the port.
    let name: String
    private let running = Mutex<WatchedServer?>(nil)

    public static let installHint = "nats-server is not installed; install it with `apt-get install nats-server` (or run scripts/setup.sh)"

    /// Where nats-server is installed (Debian puts it in /usr/sbin), or nil.
    public static var installedBinary: String? {
        ["/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    private init(port: Int) {
        self.port = port
        self.name = "syft-test-\(getpid())-\(port)-\(UInt32.random(in: 0...UInt32.max))"
    }

    /// Starts a server on a free port; one that fails to start there (another process took
    /// the port in between) is retried on another.
    public static func launch() async throws -> NATSServerProcess {
        guard let binary = installedBinary else { throw TestFailure(installHint) }
        var lastError: (any Error)?
        for _ in 0..<5 {
            let server = NATSServerProcess(port: try FreePort.find())
            do {
                try await server.start(binary: binary)
                return server
            } catch {
                lastError = error
            }
        }
        throw lastError ?? TestFailure("nats-server did not start")
    }

    /// Starts the server and waits (at most 10 s) until it answers INFO with this launch's name.
    private func start(binary: String) async throws {
        let watched = try WatchedServer.start(binary, ["-a", "127.0.0.1", "-p", String(port), "-n", name])
        let server = watched.server
        running.withLock { $0 = watched }
        let clock = ContinuousClock()
        let deadline = clock.now + .seconds(10)
        while clock.now < deadline {
            if NATSProbe.serverName(port: port) == name { return }
            if !server.isRunning { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        server.waitForOutputEnd(within: 2)
        throw TestFailure("nats-server did not answer on 127.0.0.1:\(port) within 10 s:\n\(server.output)")
    }

    /// SIGKILL: core NATS keeps nothing worth flushing.
    public func stop() {
        running.withLock { state in defer { state = nil }; return state }?.kill()
    }

    deinit { stop() }
}

/// Reads the INFO line a NATS server sends on connect, over a plain socket, independent of the
/// client under test. Blocks for at most a fraction of a second.
enum NATSProbe {
    /// The `server_name` from INFO, or nil when nothing answers like NATS.
    static func serverName(port: Int) -> String? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 0, tv_usec: 300_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = FreePort.loopback(port: port)
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else { return nil }
        var reply: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while reply.count < 64 * 1024, !reply.contains(UInt8(ascii: "\n")) {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard count > 0 else { return nil }
            reply.append(contentsOf: chunk[0..<count])
        }
        let line = String(decoding: reply, as: UTF8.self)
        guard line.hasPrefix("INFO "), let json = line.dropFirst(5).split(separator: "\r\n").first,
            let info = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any]
        else { return nil }
        return info["server_name"] as? String
    }
}
