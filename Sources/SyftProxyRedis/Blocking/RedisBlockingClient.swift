import Logging
import NIOCore
import NIOPosix
import Synchronization

/// One connection of its own for commands that block in Redis on purpose (`BLPOP`, `BRPOP`,
/// `BLMOVE`, `XREAD BLOCK`), so they never hold up the pool's shared, pipelined connections.
///
/// The connection opens on first use and again after it drops. After a failed attempt, calls
/// fail at once with `RedisError.unavailable` until the backoff (50 ms doubling to 2 s) has
/// passed. Commands from concurrent callers queue on the one connection, each behind the
/// blocking command before it: give each consumer its own client.
public final class RedisBlockingClient: Sendable {
    public let configuration: RedisConfiguration
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let state = Mutex(State())

    private struct State {
        var connection: RedisConnection?
        var connecting: Task<RedisConnection, any Error>?
        var retryAt: ContinuousClock.Instant?
        var backoff = ReconnectBackoff()
        var isClosed = false
    }

    public init(configuration: RedisConfiguration, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.configuration = configuration
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
    }

    /// Sends `command`, which may block in Redis for up to `blockingFor`; the reply may take
    /// that long plus the configured command timeout. Cancelling the calling task closes the
    /// connection, the only way to take back a blocking command; the next call reconnects.
    public func send(_ command: RedisCommand, blockingFor: Duration = .zero) async throws -> RESPValue {
        let connection = try await liveConnection()
        do {
            return try await withTaskCancellationHandler {
                try await connection.send(command, timeout: configuration.commandTimeout + blockingFor)
            } onCancel: {
                connection.channel.close(promise: nil)
            }
        } catch let error as RedisError where Task.isCancelled {
            if case .server = error { throw error }
            throw CancellationError()
        }
    }

    /// `BLPOP keys… timeout`: the first element pushed to any of `keys`, or nil when none
    /// arrives within `timeout` (at least 1 ms; Redis reads 0 as "forever", which a reply
    /// timeout cannot cover, so wait in a loop instead).
    public func blockingPopFirst(from keys: [String], timeout: Duration) async throws -> (key: String, value: [UInt8])? {
        let milliseconds = timeout.wholeMilliseconds
        guard milliseconds > 0 else { throw RedisError.invalidCommand("BLPOP needs a timeout of at least 1 ms, not \(timeout)") }
        let seconds = String(Double(milliseconds) / 1000)
        let reply = try await send(RedisCommand(["BLPOP"] + keys + [seconds]), blockingFor: timeout)
        guard let pair = reply.array, pair.count == 2, let key = pair[0].string, let value = pair[1].bytes else { return nil }
        return (key, value)
    }

    /// Closes the connection; later calls fail with `RedisError.connectionClosed`.
    public func close() async {
        let (connection, connecting) = state.withLock { state in
            state.isClosed = true
            defer {
                state.connection = nil
                state.connecting = nil
            }
            return (state.connection, state.connecting)
        }
        connecting?.cancel()
        if let connection = try? await connecting?.value { await connection.close() }
        await connection?.close()
    }

    private enum Next {
        case ready(RedisConnection)
        case wait(Task<RedisConnection, any Error>)
    }

    /// The live connection, or the one being opened; concurrent callers share one attempt.
    private func liveConnection() async throws -> RedisConnection {
        let endpoint = configuration.endpointDescription
        let next = try state.withLock { state throws(RedisError) -> Next in
            guard !state.isClosed else { throw .connectionClosed("this blocking client for Redis at \(endpoint) was closed") }
            if let connection = state.connection, connection.isActive { return .ready(connection) }
            state.connection = nil
            if let connecting = state.connecting { return .wait(connecting) }
            if let retryAt = state.retryAt, ContinuousClock.now < retryAt {
                throw .unavailable("Redis at \(endpoint) is unreachable; the next connection attempt is in \((retryAt - .now).wholeMilliseconds) ms")
            }
            let connecting = Task { [configuration, eventLoopGroup, logger] in
                try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
            }
            state.connecting = connecting
            return .wait(connecting)
        }
        switch next {
        case .ready(let connection):
            return connection
        case .wait(let connecting):
            do {
                let connection = try await connecting.value
                let kept = state.withLock { state in
                    if state.connecting == connecting {
                        state.connecting = nil
                        state.connection = connection
                        state.retryAt = nil
                        state.backoff.reset()
                    }
                    return !state.isClosed
                }
                guard kept else {
                    await connection.close()
                    throw RedisError.connectionClosed("this blocking client for Redis at \(endpoint) was closed")
                }
                return connection
            } catch {
                state.withLock { state in
                    if state.connecting == connecting {
                        state.connecting = nil
                        state.retryAt = .now + state.backoff.next()
                    }
                }
                throw error
            }
        }
    }
}
