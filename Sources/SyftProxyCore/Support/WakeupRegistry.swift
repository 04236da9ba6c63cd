import Synchronization

/// Wakes tasks waiting for something to happen to a key (a request answered, work queued).
///
/// Waiting is register-then-check-then-wait: a caller takes a ticket first, checks the state
/// it cares about, and only then suspends, so a signal that lands between the check and the
/// suspension is not lost. Every wait is bounded by a deadline; a missed signal costs latency,
/// never a request.
public final class WakeupRegistry<Key: Hashable & Sendable>: Sendable {
    public struct Ticket: Sendable, Hashable {
        fileprivate let id: UInt64
        fileprivate let key: Key
    }

    private enum TicketState {
        case armed
        case signaled
        case waiting(CheckedContinuation<Void, Never>)
    }

    private struct State {
        var nextID: UInt64 = 0
        var tickets: [UInt64: TicketState] = [:]
        var byKey: [Key: [UInt64]] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Number of tickets currently registered (waiting callers), for metrics and tests.
    public var waiterCount: Int { state.withLock { $0.tickets.count } }

    public func register(_ key: Key) -> Ticket {
        state.withLock { state in
            state.nextID &+= 1
            let id = state.nextID
            state.tickets[id] = .armed
            state.byKey[key, default: []].append(id)
            return Ticket(id: id, key: key)
        }
    }

    /// Forgets a ticket; call it when the wait is over, whatever its outcome.
    public func unregister(_ ticket: Ticket) {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            let removed = state.tickets.removeValue(forKey: ticket.id)
            if var ids = state.byKey[ticket.key] {
                ids.removeAll { $0 == ticket.id }
                state.byKey[ticket.key] = ids.isEmpty ? nil : ids
            }
            if case .waiting(let continuation)? = removed { return continuation }
            return nil
        }
        continuation?.resume()
    }

    /// Wakes every ticket registered for `key`.
    public func signal(_ key: Key) {
        let continuations: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard let ids = state.byKey[key] else { return [] }
            return ids.compactMap { Self.markSignaled(&state, id: $0) }
        }
        for continuation in continuations { continuation.resume() }
    }

    /// Wakes everybody: after a reconnect, when signals may have been missed.
    public func signalAll() {
        let continuations: [CheckedContinuation<Void, Never>] = state.withLock { state in
            Array(state.tickets.keys).compactMap { Self.markSignaled(&state, id: $0) }
        }
        for continuation in continuations { continuation.resume() }
    }

    private static func markSignaled(_ state: inout State, id: UInt64) -> CheckedContinuation<Void, Never>? {
        guard let current = state.tickets[id] else { return nil }
        state.tickets[id] = .signaled
        if case .waiting(let continuation) = current { return continuation }
        return nil
    }

    /// Suspends until the ticket is signaled (or already was), the deadline (Unix seconds)
    /// passes, or the task is cancelled. Returns true when signaled.
    @discardableResult
    public func wait(_ ticket: Ticket, until deadline: Double) async -> Bool {
        if consumeSignal(ticket) { return true }
        let remaining = deadline - Timestamp.now()
        guard remaining > 0 else { return false }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(ticket) }
            group.addTask { try? await Task.sleep(for: .seconds(remaining)) }
            await group.next()
            group.cancelAll()
        }
        return consumeSignal(ticket)
    }

    /// Re-arms a signaled ticket so it can be waited on again, reporting whether it was signaled.
    private func consumeSignal(_ ticket: Ticket) -> Bool {
        state.withLock { state in
            guard case .signaled? = state.tickets[ticket.id] else { return false }
            state.tickets[ticket.id] = .armed
            if state.byKey[ticket.key]?.contains(ticket.id) != true {
                state.byKey[ticket.key, default: []].append(ticket.id)
            }
            return true
        }
    }

    private func suspend(_ ticket: Ticket) async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow: Bool = state.withLock { state in
                    switch state.tickets[ticket.id] {
                    case .armed?:
                        // Cancellation sets the flag before its handler takes this lock, so
                        // checking here under the lock cannot miss a cancellation.
                        if Task.isCancelled { return true }
                        state.tickets[ticket.id] = .waiting(continuation)
                        return false
                    case .signaled?, .waiting?, nil:
                        return true
                    }
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            // Timeout or caller cancellation: hand the continuation back without marking a signal.
            let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
                guard case .waiting(let continuation)? = state.tickets[ticket.id] else { return nil }
                state.tickets[ticket.id] = .armed
                return continuation
            }
            continuation?.resume()
        }
    }
}
