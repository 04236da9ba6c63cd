#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A server child that cannot outlive the test process: a watchdog shell reads a socket only
/// this process holds open, so when the process dies, even by SIGKILL, the socket closes and
/// the watchdog kills the server.
struct WatchedServer: Sendable {
    let server: ChildProcess
    private let watchdog: ChildProcess
    /// This process's end of the watchdog's lifeline.
    private let heldEnd: Int32

    static func start(_ binary: String, _ arguments: [String]) throws -> WatchedServer {
        let server = try ChildProcess(binary, arguments, collectOutput: true)
        let ends = try lifeline()
        let watchdog: ChildProcess
        do {
            watchdog = try ChildProcess("/bin/sh", ["-c", "read _; kill -KILL \(server.processIdentifier) 2>/dev/null"], stdin: ends.read)
        } catch {
            close(ends.read)
            close(ends.write)
            server.kill9()
            throw error
        }
        close(ends.read)
        return WatchedServer(server: server, watchdog: watchdog, heldEnd: ends.write)
    }

    /// SIGKILL to the server and its watchdog.
    func kill() {
        server.kill9()
        watchdog.kill9()
        close(heldEnd)
    }
}
