import Foundation
import NIOCore
import Synchronization

/// Request-reply the way NATS clients do it: one wildcard subscription to a private inbox,
/// `_INBOX.<random>.*`, and each request's reply subject that inbox with a token of its own as
/// the last element, so any number of requests can be in flight on the one connection.
public final class NATSRequester: Sendable {
    public let connection: NATSConnection
    private let inbox: String
    private let state = Mutex(State())

    private struct State {
        var nextToken: UInt64 = 1
        var pending: [UInt64: Pending] = [:]
        var closed: NATSError?
        var sweeper: RepeatedTask?
    }

    private struct Pending {
        let continuation: CheckedContinuation<ByteBuffer, any Error>
        let deadline: NIODeadline
        let subject: String
        let timeout: Duration
    }

    private init(connection: NATSConnection) {
        self.connection = connection
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")
        var random = SystemRandomNumberGenerator()
        self.inbox = "_INBOX." + String((0..<22).map { _ in alphabet[Int(random.next(upperBound: UInt(alphabet.count)))] }) + "."
    }

    /// Connects and subscribes to the inbox; requests can be sent once this returns.
    public static func connect(host: String = "127.0.0.1", port: Int) async throws -> NATSRequester {
        let connection = try await NATSConnection.connect(host: host, port: port)
        let requester = NATSRequester(connection: connection)
        do {
            try await connection.subscribe(requester.inbox + "*") { [weak requester] message in requester?.deliver(message) }
        } catch {
            await connection.close()
            throw error
        }
        connection.onClose { [weak requester] error in requester?.failAll(error) }
        // One timer for all requests rather than one each: a deadline passed by up to 100 ms more is
        // still a bounded wait, and the hot path stays free of timer scheduling.
        let sweeper = connection.eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { [weak requester] _ in
            requester?.expireOverdue()
        }
        requester.state.withLock { $0.sweeper = sweeper }
        return requester
    }

    /// Publishes `payload` to `subject` and waits for the reply's payload, at most `timeout`.
    public func request(_ subject: String, payload: ByteBuffer, timeout: Duration = .seconds(10)) async throws -> ByteBuffer {
        let token = state.withLock { state in
            defer { state.nextToken += 1 }
            return state.nextToken
        }
        let deadline = NIODeadline.now() + TimeAmount(timeout)
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let closed = state.withLock { state -> NATSError? in
                    if let closed = state.closed { return closed }
                    state.pending[token] = Pending(continuation: continuation, deadline: deadline, subject: subject, timeout: timeout)
                    return nil
                }
                if let closed {
                    continuation.resume(throwing: closed)
                    return
                }
                do {
                    try connection.publish(subject, replyTo: inbox + String(token), payload: payload)
                } catch {
                    finish(token, throwing: error)
                }
                // A task cancelled before its continuation was registered was missed by onCancel.
                if Task.isCancelled { finish(token, throwing: CancellationError()) }
            }
        } onCancel: {
            finish(token, throwing: CancellationError())
        }
    }

    public func close() async {
        state.withLock { $0.sweeper }?.cancel()
        await connection.close()
    }

    private func deliver(_ message: NATSMessage) {
        // Replies are correlated by the reply subject's last element, the token.
        guard let dot = message.subject.utf8.lastIndex(of: UInt8(ascii: ".")),
            let token = UInt64(message.subject[message.subject.utf8.index(after: dot)...])
        else { return }
        state.withLock { $0.pending.removeValue(forKey: token) }?.continuation.resume(returning: message.payload)
    }

    private func finish(_ token: UInt64, throwing error: any Error) {
        state.withLock { $0.pending.removeValue(forKey: token) }?.continuation.resume(throwing: error)
    }

    private func expireOverdue() {
        let now = NIODeadline.now()
        let overdue = state.withLock { state in
            let tokens = state.pending.filter { $0.value.deadline <= now }.keys
            return tokens.compactMap { state.pending.removeValue(forKey: $0) }
        }
        for request in overdue {
            request.continuation.resume(throwing: NATSError.timedOut("no reply to a request on '\(request.subject)' within \(request.timeout); is a responder subscribed to it?"))
        }
    }

    private func failAll(_ error: NATSError) {
        let pending = state.withLock { state in
            state.closed = error
            defer { state.pending = [:] }
            return Array(state.pending.values)
        }
        state.withLock { $0.sweeper }?.cancel()
        for request in pending { request.continuation.resume(throwing: error) }
    }

    deinit {
        state.withLock { $0.sweeper }?.cancel()
    }
}
