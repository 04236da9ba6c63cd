import Logging
import NIOCore
import NIOPosix
import Synchronization

/// A fixed number of pipelined connections shared by every caller of a replica. `run()` keeps
/// each one connected, reconnecting with backoff; while none is up, calls fail at once with
/// `RedisError.unavailable` rather than queueing, so the API can answer 503 immediately.
public final class RedisConnectionPool: Sendable {
    public let configuration: RedisConfiguration
    public let connectionCount: Int
    private let eventLoopGroup: any EventLoopGroup
    private let logger: Logger
    private let slots: Mutex<Slots>

    private struct Slots {
        var connections: [RedisConnection?]
        var next = 0
    }

    public init(configuration: RedisConfiguration, connectionCount: Int = 4, eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton, logger: Logger) {
        self.configuration = configuration
        self.connectionCount = max(1, connectionCount)
        self.eventLoopGroup = eventLoopGroup
        self.logger = logger
        self.slots = Mutex(Slots(connections: Array(repeating: nil, count: max(1, connectionCount))))
    }

    public var connectedCount: Int { slots.withLock { $0.connections.filter { $0?.isActive == true }.count } }

    /// Keeps every slot connected until the task is cancelled, then closes them.
    public func run() async {
        await withDiscardingTaskGroup { group in
            for slot in 0..<connectionCount {
                group.addTask { await self.maintain(slot: slot) }
            }
        }
    }

    private func maintain(slot: Int) async {
        var backoff = ReconnectBackoff()
        var reportedDown = false
        while !Task.isCancelled {
            do {
                let connection = try await RedisConnection.connect(configuration: configuration, eventLoop: eventLoopGroup.next(), logger: logger)
                slots.withLock { $0.connections[slot] = connection }
                if reportedDown { logger.info("Redis connection restored", metadata: ["redis": "\(configuration.endpointDescription)"]) }
                reportedDown = false
                backoff.reset()
                await withTaskCancellationHandler {
                    try? await connection.closeFuture.get()
                } onCancel: {
                    connection.channel.close(promise: nil)
                }
                slots.withLock { $0.connections[slot] = nil }
            } catch {
                if !reportedDown, slot == 0 {
                    logger.warning("Redis unreachable; retrying", metadata: ["redis": "\(configuration.endpointDescription)", "error": "\(error)"])
                }
                reportedDown = true
            }
            try? await Task.sleep(for: backoff.next())
        }
    }

    /// Round-robin over live connections.
    private func connection() throws -> RedisConnection {
        let picked: RedisConnection? = slots.withLock { slots in
            for _ in 0..<slots.connections.count {
                let index = slots.next % slots.connections.count
                slots.next &+= 1
                if let connection = slots.connections[index], connection.isActive { return connection }
            }
            return nil
        }
        guard let picked else { throw RedisError.unavailable("no connection to \(configuration.endpointDescription) is up") }
        return picked
    }

    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await connection().send(command)
    }

    public func ping() async throws {
        _ = try await send(RedisCommand("PING"))
    }

    /// EVALSHA, falling back to EVAL when Redis does not know the script (it restarted empty).
    public func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        var arguments: [String] = ["EVALSHA", script.sha1, String(keys.count)]
        arguments.reserveCapacity(3 + keys.count + args.count)
        arguments.append(contentsOf: keys)
        arguments.append(contentsOf: args)
        let connection = try connection()
        do {
            return try await connection.send(RedisCommand(arguments))
        } catch RedisError.server(let message) where message.hasPrefix("NOSCRIPT") {
            arguments[0] = "EVAL"
            arguments[1] = script.source
            return try await connection.send(RedisCommand(arguments))
        }
    }
}

/// 50 ms doubling to 2 s, with jitter so replicas do not reconnect in lockstep.
struct ReconnectBackoff {
    private var attempt = 0
    mutating func reset() { attempt = 0 }
    mutating func next() -> Duration {
        let base = min(2.0, 0.05 * Double(1 << min(attempt, 6)))
        attempt += 1
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.0) * 1000))
    }
}
