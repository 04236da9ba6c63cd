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
        /// With what the signaller handed over, if anything.
        case signaled((any Sendable)?)
        case waiting(CheckedContinuation<Void, Never>)
    }

    /// How a wait ended when it was signaled: `payload` is what `signal(_:payload:)` passed.
    public struct Signal: Sendable {
        public let payload: (any Sendable)?
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

    /// Wakes every ticket registered for `key`, handing each `payload` (say, the new state, so
    /// the woken task need not fetch it).
    public func signal(_ key: Key, payload: (any Sendable)? = nil) {
        let continuations: [CheckedContinuation<Void, Never>] = state.withLock { state in
            guard let ids = state.byKey[key] else { return [] }
            return ids.compactMap { Self.markSignaled(&state, id: $0, payload: payload) }
        }
        for continuation in continuations { continuation.resume() }
    }

    /// Wakes the oldest ticket for `key` that is not woken yet. One new item of work needs one
    /// worker: waking every waiter sends all but one to look in vain (on Redis, a lease script
    /// each). Whoever is woken looks for work again, so nothing waits on a worker that left.
    public func signalOne(_ key: Key) {
        let continuation: CheckedContinuation<Void, Never>? = state.withLock { state in
            guard let ids = state.byKey[key] else { return nil }
            for id in ids {
                switch state.tickets[id] {
                case .armed?, .waiting?: return Self.markSignaled(&state, id: id, payload: nil)
                case .signaled?, nil: continue
                }
            }
            return nil
        }
        continuation?.resume()
    }

    /// Wakes everybody: after a reconnect, when signals may have been missed.
    public func signalAll() {
        let continuations: [CheckedContinuation<Void, Never>] = state.withLock { state in
            Array(state.tickets.keys).compactMap { Self.markSignaled(&state, id: $0, payload: nil) }
        }
        for continuation in continuations { continuation.resume() }
    }

    private static func markSignaled(_ state: inout State, id: UInt64, payload: (any Sendable)?) -> CheckedContinuation<Void, Never>? {
        guard let current = state.tickets[id] else { return nil }
        if case .signaled(let earlier?) = current {
            // A plain signal after one with a payload must not lose the payload.
            state.tickets[id] = .signaled(payload ?? earlier)
            return nil
        }
        state.tickets[id] = .signaled(payload)
        if case .waiting(let continuation) = current { return continuation }
        return nil
    }

    /// Suspends until the ticket is signaled (or already was), the deadline (Unix seconds)
    /// passes, or the task is cancelled. Returns true when signaled.
    @discardableResult
    public func wait(_ ticket: Ticket, until deadline: Double) async -> Bool {
        await waitForSignal(ticket, until: deadline) != nil
    }

    /// Like ``wait(_:until:)``, returning the signal with its payload, or nil when the deadline
    /// passed or the task was cancelled first.
    public func waitForSignal(_ ticket: Ticket, until deadline: Double) async -> Signal? {
        if let signal = consumeSignal(ticket) { return signal }
        let remaining = deadline - Timestamp.now()
        guard remaining > 0 else { return nil }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await self.suspend(ticket) }
            group.addTask { try? await Task.sleep(for: .seconds(remaining)) }
            await group.next()
            group.cancelAll()
        }
        return consumeSignal(ticket)
    }

    /// Re-arms a signaled ticket so it can be waited on again, returning the signal if it was signaled.
    private func consumeSignal(_ ticket: Ticket) -> Signal? {
        state.withLock { state in
            guard case .signaled(let payload)? = state.tickets[ticket.id] else { return nil }
            state.tickets[ticket.id] = .armed
            if state.byKey[ticket.key]?.contains(ticket.id) != true {
                state.byKey[ticket.key, default: []].append(ticket.id)
            }
            return Signal(payload: payload)
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
