import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization

/// One TCP connection to Redis. Any number of tasks may send at once: commands are written
/// without waiting for earlier replies (pipelining) and each caller gets its own reply.
public final class RedisConnection: Sendable {
    public let configuration: RedisConfiguration
    let channel: any Channel
    private let handler: NIOLoopBound<RedisChannelHandler>
    private let commandTimeout: TimeAmount
    private let nextRequestID = Atomic<UInt64>(0)

    private init(configuration: RedisConfiguration, channel: any Channel, handler: NIOLoopBound<RedisChannelHandler>) {
        self.configuration = configuration
        self.channel = channel
        self.handler = handler
        self.commandTimeout = TimeAmount(configuration.commandTimeout)
    }

    public var isActive: Bool { channel.isActive }

    /// Completes when the connection closes, for whatever reason.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Connects, then logs in (`AUTH`) and selects the database (`SELECT`) when the
    /// configuration asks for it. Fails with `RedisError.unavailable` when Redis cannot be reached.
    public static func connect(configuration: RedisConfiguration, eventLoop: any EventLoop, logger: Logger) async throws -> RedisConnection {
        if let sentinel = configuration.sentinel {
            let master = try await sentinel.resolveMaster(configuration, eventLoop: eventLoop, logger: logger)
            let connection = try await connect(configuration: master, eventLoop: eventLoop, logger: logger)
            try await RedisSentinel.requireMaster(connection, name: sentinel.masterName)
            return connection
        }
        let endpoint = configuration.endpointDescription
        let timeout = TimeAmount(configuration.commandTimeout)
        // A context per connection: connections are few and long-lived, and a certificate file
        // replaced on disk (rotation) is picked up at the next reconnect.
        let tlsContext = try configuration.tls?.makeContext()
        let serverName = configuration.tls?.expectedName(host: configuration.host)
        let connection: RedisConnection
        do {
            connection = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelOption(.socketOption(.so_keepalive), value: 1)
                .connectTimeout(TimeAmount(configuration.connectTimeout))
                .connect(host: configuration.host, port: configuration.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if let tlsContext {
                            try channel.pipeline.syncOperations.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName))
                        }
                        let handler = RedisChannelHandler(
                            endpoint: endpoint, commandTimeout: timeout, maximumPendingCommands: configuration.maximumPendingCommands)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return RedisConnection(configuration: configuration, channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
        } catch {
            throw RedisError.unavailable("Redis at \(endpoint) is unreachable (\(error))")
        }
        if tlsContext != nil {
            // The handshake runs after the TCP connect; one PING makes a refused certificate an
            // error of the connect, with the reason, rather than of some later command.
            do { _ = try await connection.send(RedisCommand("PING")) } catch RedisError.server {
                // NOAUTH before AUTH: the handshake itself went through.
            } catch {
                await connection.close()
                throw RedisError.unavailable("the TLS connection to Redis at \(endpoint) failed (\(error)); check that the server speaks TLS on this port, that PROXY_REDIS_TLS_CA_FILE holds the CA that signed its certificate, and that the certificate names '\(serverName ?? configuration.host)'")
            }
        }
        do {
            if let password = configuration.password {
                let auth = configuration.username.map { ["AUTH", $0, password] } ?? ["AUTH", password]
                _ = try await connection.send(RedisCommand(auth))
            }
            if configuration.database != 0 {
                _ = try await connection.send(RedisCommand("SELECT", String(configuration.database)))
            }
        } catch RedisError.server(let message) {
            await connection.close()
            throw RedisError.unavailable("Redis at \(endpoint) refused the login or database (\(message)); check the password and database in the Redis URL")
        } catch {
            await connection.close()
            throw error
        }
        logger.debug("connected to Redis", metadata: ["redis": "\(endpoint)"])
        return connection
    }

    /// Sends a command and waits for its reply. An error reply is thrown as `RedisError.server`;
    /// no reply within the configured command timeout as `RedisError.timeout`.
    public func send(_ command: RedisCommand) async throws -> RESPValue {
        try await roundTrip(command, timeout: commandTimeout)
    }

    /// Like `send(_:)` with a timeout of its own, for commands that block in Redis on purpose
    /// (`BLPOP`, `XREAD BLOCK`, `WAIT`): give it their blocking time plus a margin.
    public func send(_ command: RedisCommand, timeout: Duration) async throws -> RESPValue {
        try await roundTrip(command, timeout: TimeAmount(timeout))
    }

    /// A caller whose task is cancelled gets `CancellationError` at once: a command not
    /// written yet is dropped, one already written has its reply discarded when it comes.
    private func roundTrip(_ command: RedisCommand, timeout: TimeAmount) async throws -> RESPValue {
        try Task.checkCancellation()
        // The frame was built with the command, on the caller's thread, off the event loop.
        let bytes = try command.encoded()
        let promise = channel.eventLoop.makePromise(of: RESPValue.self)
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).newValue
        let handler = self.handler
        return try await withTaskCancellationHandler {
            enqueue(RedisRequest(id: id, bytes: bytes, promise: promise, timeout: timeout))
            // A cancellation that came before the enqueue ran its handler too early to find
            // the command; cancelling again after it reaches the loop in order.
            if Task.isCancelled { run { handler.value.cancel(id: id) } }
            return try await promise.futureResult.get()
        } onCancel: {
            run { handler.value.cancel(id: id) }
        }
    }

    /// Sends `commands` in one write, back to back, so no other caller's command can come
    /// between them (`ASKING` and the command it allows). Each gets its own reply or error.
    func send(batch commands: [RedisCommand]) async throws -> [Result<RESPValue, any Error>] {
        try Task.checkCancellation()
        var batch: [RedisRequest] = []
        batch.reserveCapacity(commands.count)
        for command in commands {
            let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).newValue
            batch.append(RedisRequest(id: id, bytes: try command.encoded(), promise: channel.eventLoop.makePromise(), timeout: commandTimeout))
        }
        let requests = batch
        let handler = self.handler
        return await withTaskCancellationHandler {
            run { handler.value.write(batch: requests) }
            if Task.isCancelled { run { for request in requests { handler.value.cancel(id: request.id) } } }
            var results: [Result<RESPValue, any Error>] = []
            for request in requests {
                guard let promise = request.promise else { continue }
                do { results.append(.success(try await promise.futureResult.get())) } catch { results.append(.failure(error)) }
            }
            return results
        } onCancel: {
            run { for request in requests { handler.value.cancel(id: request.id) } }
        }
    }

    /// `ASKING` then `command`, atomically: the reply to `command`.
    func sendAsking(_ command: RedisCommand) async throws -> RESPValue {
        let results = try await send(batch: [RedisCommand("ASKING"), command])
        guard results.count == 2 else { throw RedisError.protocolError("ASKING and \(command.name) did not both get a reply") }
        return try results[1].get()
    }

    /// Writes a command whose answer comes as a push (`SUBSCRIBE`, `PING` on a subscriber).
    func post(_ command: RedisCommand) throws {
        let id = nextRequestID.wrappingAdd(1, ordering: .relaxed).newValue
        enqueue(RedisRequest(id: id, bytes: try command.encoded(), promise: nil, timeout: .zero))
    }

    /// Turns this into a subscriber connection: replies no caller waits for go to `onPush`,
    /// on the connection's event loop.
    func deliverPushes(to onPush: @escaping @Sendable (RESPValue) -> Void) {
        let handler = self.handler
        run { handler.value.deliverPushes(to: onPush) }
    }

    public func close() async {
        try? await channel.close()
    }

    private func enqueue(_ request: RedisRequest) {
        let handler = self.handler
        run { handler.value.write(request) }
    }

    /// Runs `body` on the connection's event loop, in the order of calls.
    private func run(_ body: @escaping @Sendable () -> Void) {
        if handler.eventLoop.inEventLoop { body() } else { handler.eventLoop.execute(body) }
    }
}
