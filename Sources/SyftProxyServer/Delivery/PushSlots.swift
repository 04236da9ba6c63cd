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
/// With the default 32 slots and a share of 8, six stalled apps hold at most 24 slots and any
/// other app finds one of the last 8 free.
final class PushSlots: Sendable {
    private struct State {
        var total = 0
        var perEndpoint: [String: Int] = [:]
    }

    let capacity: Int
    let share: Int
    let reserve: Int
    private let state = Mutex(State())
    private let freed = WakeupRegistry<Int>()

    init(capacity: Int, share: Int) {
        self.capacity = max(1, capacity)
        self.share = max(1, share)
        self.reserve = self.capacity / 4
    }

    /// Takes a slot for a delivery to `endpoint`; false when the endpoint is at its share (or
    /// the replica is full), and the delivery should wait.
    func take(for endpoint: String) -> Bool {
        state.withLock { state in
            let current = state.perEndpoint[endpoint, default: 0]
            guard state.total < capacity, current < share else { return false }
            guard current == 0 || state.total < capacity - reserve else { return false }
            state.total += 1
            state.perEndpoint[endpoint] = current + 1
            return true
        }
    }

    func give(for endpoint: String) {
        state.withLock { state in
            state.total -= 1
            let left = state.perEndpoint[endpoint, default: 1] - 1
            state.perEndpoint[endpoint] = left > 0 ? left : nil
        }
        freed.signal(0)
    }

    /// Free slots now, waiting (at most a second) for one to free up when all are taken.
    func waitForFree() async -> Int {
        let ticket = freed.register(0)
        defer { freed.unregister(ticket) }
        let free = capacity - state.withLock { $0.total }
        if free > 0 { return free }
        await freed.wait(ticket, until: Timestamp.now() + 1)
        return capacity - state.withLock { $0.total }
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
