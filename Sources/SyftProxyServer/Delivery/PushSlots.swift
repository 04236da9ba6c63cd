import Synchronization
import SyftProxyCore

/// The forwarder's delivery slots, shared out per app endpoint (host and port) so that apps
/// which stall hold only their own share and a fast app still gets through:
///
/// - an endpoint that has not yet shown it answers fast (no history, a slow average, or a
///   delivery in flight for longer than `stallAge`) has at most `share` deliveries in flight;
///   one that answers fast may use every slot it finds free, so a single busy, healthy app is
///   not throttled to a share it does not need;
/// - an endpoint's second and later concurrent deliveries may use at most `capacity - reserve`
///   slots in all; the last `reserve` slots (a quarter) take only deliveries to endpoints with
///   nothing in flight.
///
/// A leased delivery that finds its endpoint at its limit waits here for one of that
/// endpoint's slots, briefly, so the backlog of a busy but healthy app flows without going back
/// through the store. Waiting deliveries count against the slots the dispatcher leases for;
/// once one has waited longer than `stallAge` the endpoint looks stalled, and the dispatcher
/// leases for the reserve anyway, so other apps' work is not held up behind it.
///
/// With the default 32 slots and a share of 8, six stalled apps hold at most 24 slots and any
/// other app finds one of the last 8 free.
final class PushSlots: Sendable {
    /// One slot taken for one delivery; give it back with ``give(_:)``.
    struct Ticket: Sendable, Equatable {
        let endpoint: String
        let number: Int
        let startedAt: Double
    }

    private struct Endpoint {
        /// When each delivery in flight started, by ticket number.
        var inFlight: [Int: Double] = [:]
    }

    private struct State {
        var running = 0
        var endpoints: [String: Endpoint] = [:]
        /// Each endpoint's moving average of delivery time, kept after its last delivery ends.
        var averageDuration: [String: Double] = [:]
        /// When each waiting delivery began to wait, by waiter number.
        var waiting: [Int: Double] = [:]
        var nextNumber = 0
    }

    let capacity: Int
    let share: Int
    let reserve: Int
    /// How long a delivery may take, or wait here, before its endpoint looks stalled.
    let stallAge: Double
    private let now: @Sendable () -> Double
    private let state = Mutex(State())
    private let freed = WakeupRegistry<Int>()
    /// Endpoints come and go; past this many remembered averages the memory starts over.
    static let rememberedEndpoints = 10_000

    init(capacity: Int, share: Int, stallAge: Double = 0.25, now: @escaping @Sendable () -> Double = Timestamp.now) {
        self.capacity = max(1, capacity)
        self.share = max(1, share)
        self.reserve = self.capacity / 4
        self.stallAge = stallAge
        self.now = now
    }

    /// Takes a slot for a delivery to `endpoint`; nil when the endpoint is at its limit (or the
    /// replica is full), and the delivery should wait.
    func take(for endpoint: String) -> Ticket? {
        let time = now()
        return state.withLock { take(for: endpoint, in: &$0, at: time) }
    }

    private func take(for endpoint: String, in state: inout State, at time: Double) -> Ticket? {
        let current = state.endpoints[endpoint]?.inFlight ?? [:]
        guard state.running < capacity, current.count < limit(for: endpoint, inFlight: current, in: state, at: time) else { return nil }
        guard current.isEmpty || state.running < capacity - reserve else { return nil }
        state.running += 1
        state.nextNumber += 1
        let ticket = Ticket(endpoint: endpoint, number: state.nextNumber, startedAt: time)
        state.endpoints[endpoint, default: Endpoint()].inFlight[ticket.number] = time
        return ticket
    }

    private func limit(for endpoint: String, inFlight: [Int: Double], in state: State, at time: Double) -> Int {
        guard let average = state.averageDuration[endpoint], average < stallAge else { return share }
        if let oldest = inFlight.values.min(), time - oldest >= stallAge { return share }
        return capacity
    }

    func give(_ ticket: Ticket) {
        let duration = max(0, now() - ticket.startedAt)
        state.withLock { state in
            guard state.endpoints[ticket.endpoint]?.inFlight.removeValue(forKey: ticket.number) != nil else { return }
            state.running -= 1
            if state.endpoints[ticket.endpoint]?.inFlight.isEmpty == true { state.endpoints[ticket.endpoint] = nil }
            if state.averageDuration.count >= Self.rememberedEndpoints, state.averageDuration[ticket.endpoint] == nil {
                state.averageDuration.removeAll(keepingCapacity: true)
            }
            // An exponentially weighted average: a few fast answers earn an endpoint the free
            // slots, a few slow ones take them back.
            let previous = state.averageDuration[ticket.endpoint] ?? duration
            state.averageDuration[ticket.endpoint] = previous * 0.8 + duration * 0.2
        }
        freed.signal(0)
    }

    /// Waits up to `until` (Unix seconds) for a slot for `endpoint`; nil when none came, or
    /// when the replica has no room left for waiting deliveries (the caller defers it then).
    func waitForSlot(for endpoint: String, until deadline: Double) async -> Ticket? {
        let waiter = state.withLock { state -> Int? in
            guard state.running + state.waiting.count < capacity else { return nil }
            state.nextNumber += 1
            state.waiting[state.nextNumber] = now()
            return state.nextNumber
        }
        guard let waiter else { return nil }
        defer {
            state.withLock { _ = $0.waiting.removeValue(forKey: waiter) }
            freed.signal(0)
        }
        while !Task.isCancelled {
            let ticket = freed.register(0)
            defer { freed.unregister(ticket) }
            let time = now()
            if let slot = state.withLock({ take(for: endpoint, in: &$0, at: time) }) { return slot }
            guard Timestamp.now() < deadline else { return nil }
            await freed.wait(ticket, until: deadline)
        }
        return nil
    }

    /// Deliveries the dispatcher may lease now: free slots less waiting deliveries, or the
    /// slots still free when a waiting delivery looks stalled.
    private func leasable(at time: Double) -> (count: Int, recheckAfter: Double?) {
        state.withLock { state in
            let free = capacity - state.running - state.waiting.count
            if free > 0 { return (free, nil) }
            guard let oldest = state.waiting.values.min() else { return (0, nil) }
            if time - oldest >= stallAge { return (capacity - state.running, nil) }
            return (0, oldest + stallAge - time)
        }
    }

    /// How many deliveries to lease, waiting (at most a second) while there is no room.
    func waitForFree() async -> Int {
        let ticket = freed.register(0)
        defer { freed.unregister(ticket) }
        let (count, recheckAfter) = leasable(at: now())
        if count > 0 { return count }
        let wallClock = Timestamp.now()
        await freed.wait(ticket, until: wallClock + min(1, recheckAfter ?? 1))
        return leasable(at: now()).count
    }
}

/// Consecutive refused connections per endpoint, so a request to an app that is not
/// listening waits in the store for longer each time instead of in a slot.
final class EndpointBackoff: Sendable {
    private let failures = Mutex<[String: Int]>([:])

    /// The delay before the next try: 100 ms doubling to 2 s, with jitter.
    func refused(_ endpoint: String) -> Double {
        let count = failures.withLock { failures -> Int in
            let count = failures[endpoint, default: 0]
            failures[endpoint] = count + 1
            // Endpoints come and go; a bound keeps a stream of distinct dead hosts from growing this.
            if failures.count > 10_000 { failures = [endpoint: count + 1] }
            return count
        }
        return min(2.0, 0.1 * Double(1 << min(count, 5))) * Double.random(in: 0.5...1.0)
    }

    func reached(_ endpoint: String) {
        _ = failures.withLock { $0.removeValue(forKey: endpoint) }
    }
}
