#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import Synchronization

/// A child process started through posix_spawn with a clean signal mask (a child of a test
/// runner otherwise inherits whatever signals the runner blocks, and may ignore SIGTERM), its
/// output collected when asked. Every process the test suites start goes through here.
public final class ChildProcess: Sendable {
    public let processIdentifier: pid_t
    private let exitStatus = Mutex<Int32?>(nil)
    private let collected: OutputCollector?

    /// - Parameters:
    ///   - environment: the whole environment of the child; nil passes the runner's on.
    ///   - stdin: a descriptor to read from; /dev/null without one.
    ///   - collectOutput: stdout and stderr into `output`; /dev/null otherwise.
    public init(_ path: String, _ arguments: [String], environment: [String: String]? = nil, stdin: Int32? = nil, collectOutput: Bool = false) throws {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        var noSignals = sigset_t()
        sigemptyset(&noSignals)
        posix_spawnattr_setsigmask(&attributes, &noSignals)
        var defaultSignals = sigset_t()
        sigemptyset(&defaultSignals)
        for signal in [SIGTERM, SIGINT, SIGPIPE, SIGHUP] { sigaddset(&defaultSignals, signal) }
        posix_spawnattr_setsigdefault(&attributes, &defaultSignals)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let stdin {
            posix_spawn_file_actions_adddup2(&actions, stdin, 0)
        } else {
            posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        }
        var outputPipe: [Int32] = [-1, -1]
        if collectOutput {
            // Close-on-exec from the start (see `lifeline()`): a stray copy of the write end in
            // another child would keep the output open after this one exits.
            let pair = try lifeline()
            outputPipe = [pair.read, pair.write]
            posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 1)
            posix_spawn_file_actions_adddup2(&actions, outputPipe[1], 2)
        } else {
            posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
            posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        }

        let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        defer { for argument in argv { free(argument) } }
        let envp: [UnsafeMutablePointer<CChar>?]? = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for entry in envp ?? [] { free(entry) } }
        var pid: pid_t = 0
        let status = envp.map { envp in envp.withUnsafeBufferPointer { posix_spawn(&pid, path, &actions, &attributes, argv, $0.baseAddress) } }
            ?? posix_spawn(&pid, path, &actions, &attributes, argv, environ)
        if collectOutput { close(outputPipe[1]) }
        guard status == 0 else {
            if collectOutput { close(outputPipe[0]) }
            throw TestFailure("cannot start \(path): \(String(cString: strerror(status)))")
        }
        processIdentifier = pid
        if collectOutput {
            let collector = OutputCollector()
            let fd = outputPipe[0]
            // A plain thread: the read blocks, and the concurrency pool must not.
            let thread = Thread {
                var chunk = [UInt8](repeating: 0, count: 4096)
                while true {
                    let count = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                    if count > 0 { collector.append(Data(chunk[0..<count])) } else if count == 0 || errno != EINTR { break }
                }
                close(fd)
                collector.finish()
            }
            thread.start()
            collected = collector
        } else {
            collected = nil
        }
    }

    /// What the child wrote to stdout and stderr so far (empty unless collected).
    public var output: String { collected?.text ?? "" }

    public var isRunning: Bool { reap(blocking: false) == nil }

    /// The exit status, or 128 + the signal that ended it; -1 while it runs.
    public var terminationStatus: Int32 { reap(blocking: false) ?? -1 }

    public func terminate() { signal(SIGTERM) }

    public func signal(_ signal: Int32) {
        guard isRunning else { return }
        kill(processIdentifier, signal)
    }

    /// Waits for the child to exit, at most `seconds`; true when it did.
    @discardableResult
    public func waitUntilExit(within seconds: Double) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while isRunning, Date() < deadline { usleep(10_000) }
        return !isRunning
    }

    /// Waits for the child's output to end (it exits or closes it), at most `seconds`.
    public func waitForOutputEnd(within seconds: Double) {
        collected?.waitForEnd(within: seconds)
    }

    /// SIGKILL and reap; waits only for the kernel to tear the process down.
    public func kill9() {
        guard isRunning else { return }
        kill(processIdentifier, SIGKILL)
        _ = reap(blocking: true)
    }

    private func reap(blocking: Bool) -> Int32? {
        exitStatus.withLock { exit in
            if let exit { return exit }
            var status: Int32 = 0
            let result = waitpid(processIdentifier, &status, blocking ? 0 : WNOHANG)
            if result == processIdentifier {
                // WIFEXITED / WEXITSTATUS / WTERMSIG, which Swift does not import as macros.
                let signal = status & 0x7f
                exit = signal == 0 ? (status >> 8) & 0xff : 128 + signal
            } else if result == -1, errno == ECHILD {
                exit = -1
            }
            return exit
        }
    }

    deinit {
        // Last resort for a test that forgot to stop it.
        kill9()
    }
}

/// A connected pair of sockets, created close-on-exec in one step so that no child spawned
/// meanwhile by another test inherits an end by accident: a child given one end as stdin sees
/// it close when this process dies, however it dies.
public func lifeline() throws -> (read: Int32, write: Int32) {
    var fds: [Int32] = [0, 0]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) == 0 else {
        throw TestFailure("socketpair failed: \(String(cString: strerror(errno)))")
    }
    return (fds[0], fds[1])
}

public final class OutputCollector: Sendable {
    private let buffer = Mutex((data: Data(), ended: false))
    public init() {}
    public func append(_ data: Data) { buffer.withLock { $0.data.append(data) } }
    func finish() { buffer.withLock { $0.ended = true } }
    public var text: String { buffer.withLock { String(decoding: $0.data, as: UTF8.self) } }

    func waitForEnd(within seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        while !buffer.withLock({ $0.ended }), Date() < deadline { usleep(5_000) }
    }
}

/// A failure of the test machinery itself (a process that would not start, a wait that
/// timed out), as opposed to an expectation of the test.
public struct TestFailure: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
