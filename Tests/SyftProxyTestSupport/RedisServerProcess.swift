import Foundation
import Synchronization

/// A throwaway `redis-server` on a free 127.0.0.1 port: no persistence, stopped by `stop()`
/// or when released. It can be stopped and started again on the same port.
public final class RedisServerProcess: Sendable {
    private let current = Mutex<Process?>(nil)
    public let port: Int
    private let output = OutputCollector()

    public var url: String { "redis://127.0.0.1:\(port)/0" }

    /// Starts a server; waits without blocking a thread of the concurrency pool. A free port
    /// can be taken by a parallel test between finding and binding it, so without a fixed
    /// port it retries on another.
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
        throw lastError ?? ProcessError("redis-server did not start")
    }

    /// Extra redis-server options, e.g. a TLS port and its certificate files.
    public let options: [String]

    private init(port: Int, options: [String]) {
        self.port = port
        self.options = options
    }

    public func start() async throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"] + options
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = self.output
        pipe.fileHandleForReading.readabilityHandler = { handle in output.append(handle.availableData) }
        try process.run()
        current.withLock { $0 = process }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            // Without persistence Redis serves as soon as it listens; the pid check makes sure
            // the server listening is ours and not another test's on a reused port.
            if FreePort.isListening(port), (try? redisCLI(["INFO", "server"]))?.contains("process_id:\(process.processIdentifier)") == true {
                return
            }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        stop()
        throw ProcessError("redis-server did not answer PING on port \(port) within 10 s:\n\(output.text)")
    }

    public func stop() {
        guard let process = current.withLock({ $0 }), process.isRunning else { return }
        // SIGKILL: the server keeps nothing worth flushing, and a child of a test runner may
        // inherit a signal mask that blocks SIGTERM.
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        current.withLock { $0 = nil }
    }

    /// Runs redis-cli against this server and returns its trimmed output.
    @discardableResult
    public func redisCLI(_ arguments: [String]) throws -> String {
        let cli = Process()
        cli.executableURL = URL(fileURLWithPath: "/usr/bin/redis-cli")
        cli.arguments = ["-h", "127.0.0.1", "-p", String(port), "--raw"] + arguments
        let pipe = Pipe()
        cli.standardOutput = pipe
        cli.standardError = pipe
        try cli.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        cli.waitUntilExit()
        return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    static var binary: String {
        for path in ["/usr/bin/redis-server", "/usr/local/bin/redis-server"] where FileManager.default.isExecutableFile(atPath: path) {
            return path
        }
        return "/usr/bin/redis-server"
    }

    deinit { stop() }
}

public enum FreePort {
    /// True when something accepts TCP connections on 127.0.0.1:`port` (loopback refuses at once).
    public static func isListening(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = loopback(port: port)
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    /// 127.0.0.1:`port` as a socket address.
    public static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    /// Asks the kernel for a free loopback port by binding port 0, then releases it.
    public static func find() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ProcessError("socket() failed") }
        defer { close(fd) }
        var address = loopback(port: 0)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw ProcessError("bind() failed") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let named = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        guard named == 0 else { throw ProcessError("getsockname() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
