import Synchronization
import SyftProxyCore

/// The forwarder's delivery slots, shared out per app endpoint (host and port) so that apps
/// which stall hold only their own share and a fast app still gets through:
///
/// - an endpoint has at most `share` deliveries in flight;
/// - an endpoint's second and later concurrent deliveries may use at most `capacity - reserve`
///   slots in all; the last `reserve` slots (a quarter) take only deliveries to endpoints with
///   nothing in flight.
///
/// A leased delivery that finds its endpoint at its share waits here for one of that
/// endpoint's slots, briefly, so the backlog of a busy but healthy app flows without going back
/// through the store. Waiting deliveries count against the slots the dispatcher leases for;
/// once one has waited longer than `stallAge` the endpoint looks stalled, and the dispatcher
/// leases for the reserve anyway, so other apps' work is not held up behind it.
///
/// With the default 32 slots and a share of 8, six stalled apps hold at most 24 slots and any
/// other app finds one of the last 8 free.
final class PushSlots: Sendable {
    private struct State {
        var running = 0
        var perEndpoint: [String: Int] = [:]
        /// When each waiting delivery began to wait, by waiter number.
        var waiting: [Int: Double] = [:]
        var nextWaiter = 0
    }

    let capacity: Int
    let share: Int
    let reserve: Int
    /// How long a delivery waits here before it looks stalled.
    let stallAge: Double
    private let state = Mutex(State())
    private let freed = WakeupRegistry<Int>()

    init(capacity: Int, share: Int, stallAge: Double = 0.25) {
        self.capacity = max(1, capacity)
        self.share = max(1, share)
        self.reserve = self.capacity / 4
        self.stallAge = stallAge
    }

    /// Takes a slot for a delivery to `endpoint`; false when the endpoint is at its share (or
    /// the replica is full), and the delivery should wait.
    func take(for endpoint: String) -> Bool {
        state.withLock { Self.take(for: endpoint, in: &$0, capacity: capacity, share: share, reserve: reserve) }
    }

    private static func take(for endpoint: String, in state: inout State, capacity: Int, share: Int, reserve: Int) -> Bool {
        let current = state.perEndpoint[endpoint, default: 0]
        guard state.running < capacity, current < share else { return false }
        guard current == 0 || state.running < capacity - reserve else { return false }
        state.running += 1
        state.perEndpoint[endpoint] = current + 1
        return true
    }

    func give(for endpoint: String) {
        state.withLock { state in
            state.running -= 1
            let left = state.perEndpoint[endpoint, default: 1] - 1
            state.perEndpoint[endpoint] = left > 0 ? left : nil
        }
        freed.signal(0)
    }

    /// Waits up to `until` (Unix seconds) for a slot for `endpoint`; false when none came, or
    /// when the replica has no room left for waiting deliveries (the caller defers it then).
    func waitForSlot(for endpoint: String, until deadline: Double) async -> Bool {
        let now = Timestamp.now()
        let waiter = state.withLock { state -> Int? in
            guard state.running + state.waiting.count < capacity else { return nil }
            state.nextWaiter += 1
            state.waiting[state.nextWaiter] = now
            return state.nextWaiter
        }
        guard let waiter else { return false }
        defer {
            state.withLock { _ = $0.waiting.removeValue(forKey: waiter) }
            freed.signal(0)
        }
        while !Task.isCancelled {
            let ticket = freed.register(0)
            defer { freed.unregister(ticket) }
            if state.withLock({ Self.take(for: endpoint, in: &$0, capacity: capacity, share: share, reserve: reserve) }) { return true }
            guard Timestamp.now() < deadline else { return false }
            await freed.wait(ticket, until: deadline)
        }
        return false
    }

    /// Deliveries the dispatcher may lease now: free slots less waiting deliveries, or the
    /// slots still free when a waiting delivery looks stalled.
    private func leasable(now: Double) -> (count: Int, recheckAt: Double?) {
        state.withLock { state in
            let free = capacity - state.running - state.waiting.count
            if free > 0 { return (free, nil) }
            guard let oldest = state.waiting.values.min() else { return (0, nil) }
            if now - oldest >= stallAge { return (capacity - state.running, nil) }
            return (0, oldest + stallAge)
        }
    }

    /// How many deliveries to lease, waiting (at most a second) while there is no room.
    func waitForFree() async -> Int {
        let ticket = freed.register(0)
        defer { freed.unregister(ticket) }
        let now = Timestamp.now()
        let (count, recheckAt) = leasable(now: now)
        if count > 0 { return count }
        await freed.wait(ticket, until: min(now + 1, recheckAt ?? now + 1))
        return leasable(now: Timestamp.now()).count
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
