import NIOCore
import NIOPosix
import Synchronization

/// One TCP connection to nats-server, shared by any number of tasks: publishes are written
/// without waiting for anything (pipelining), deliveries go to the subscription's closure on
/// the connection's event loop.
public final class NATSConnection: Sendable {
    public let endpoint: String
    private let channel: any Channel
    private let handler: NIOLoopBound<NATSChannelHandler>
    private let nextSID = Atomic<UInt64>(1)

    private init(endpoint: String, channel: any Channel, handler: NIOLoopBound<NATSChannelHandler>) {
        self.endpoint = endpoint
        self.channel = channel
        self.handler = handler
    }

    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Connects and completes the handshake: the server's INFO, then CONNECT, then a PING whose
    /// PONG shows the server accepted the CONNECT. Everything within `timeout`.
    public static func connect(host: String = "127.0.0.1", port: Int, timeout: Duration = .seconds(5)) async throws -> NATSConnection {
        let endpoint = "\(host):\(port)"
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let info = eventLoop.makePromise(of: String.self)
        let connection: NATSConnection
        do {
            connection = try await ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .connectTimeout(TimeAmount(timeout))
                .connect(host: host, port: port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let handler = NATSChannelHandler(endpoint: endpoint, eventLoop: channel.eventLoop, info: info)
                        try channel.pipeline.syncOperations.addHandler(handler)
                        return NATSConnection(endpoint: endpoint, channel: channel, handler: NIOLoopBound(handler, eventLoop: channel.eventLoop))
                    }
                }
        } catch {
            info.fail(NATSError.connectionClosed(endpoint))
            throw NATSError.connectionClosed("\(endpoint) (cannot connect: \(error); is nats-server running there?)")
        }
        let handler = connection.handler
        let deadline = eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            handler.value.fail(.timedOut("the handshake with nats-server at \(endpoint) (INFO, CONNECT, PING/PONG) took over \(timeout)"))
        }
        defer { deadline.cancel() }
        do {
            _ = try await info.futureResult.get()
            connection.send(ByteBuffer(string: #"CONNECT {"verbose":false,"pedantic":false,"headers":false,"protocol":1}"# + "\r\n"))
            try await connection.flush()
        } catch {
            await connection.close()
            throw error
        }
        return connection
    }

    /// Queues `PUB subject [reply-to] n` with the payload; returns before anything is sent.
    public func publish(_ subject: String, replyTo: String? = nil, payload: ByteBuffer) throws(NATSError) {
        try Self.validate(subject)
        if let replyTo { try Self.validate(replyTo) }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(subject.utf8.count + (replyTo?.utf8.count ?? 0) + payload.readableBytes + 32)
        buffer.writeString("PUB ")
        buffer.writeString(subject)
        if let replyTo {
            buffer.writeString(" ")
            buffer.writeString(replyTo)
        }
        buffer.writeString(" \(payload.readableBytes)\r\n")
        buffer.writeImmutableBuffer(payload)
        buffer.writeString("\r\n")
        send(buffer)
    }

    /// `SUB subject sid`, returning once the server has it: a publish from any connection after
    /// that reaches `onMessage`, which runs on the connection's event loop and must not block.
    @discardableResult
    public func subscribe(_ subject: String, _ onMessage: @escaping @Sendable (NATSMessage) -> Void) async throws -> UInt64 {
        try Self.validate(subject)
        let sid = nextSID.add(1, ordering: .relaxed).oldValue
        let command = ByteBuffer(string: "SUB \(subject) \(sid)\r\n")
        let handler = handler
        try await eventLoop.flatSubmit { handler.value.subscribe(sid: sid, command: command, onMessage) }.get()
        return sid
    }

    /// A PING/PONG round trip: everything written before it has reached the server.
    public func flush() async throws {
        let handler = handler
        try await eventLoop.flatSubmit { handler.value.ping() }.get()
    }

    /// `observer` learns why once the connection closes, on its event loop.
    public func onClose(_ observer: @escaping @Sendable (NATSError) -> Void) {
        let handler = handler
        eventLoop.execute { handler.value.onClose(observer) }
    }

    public func close() async {
        try? await channel.close()
    }

    private func send(_ buffer: ByteBuffer) {
        if eventLoop.inEventLoop {
            handler.value.send(buffer)
        } else {
            let handler = handler
            eventLoop.execute { handler.value.send(buffer) }
        }
    }

    private static func validate(_ subject: String) throws(NATSError) {
        let separator = subject.utf8.contains { $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\n") }
        guard !subject.isEmpty, !separator else { throw .invalidSubject(subject) }
    }

    deinit {
        channel.close(promise: nil)
    }
}
