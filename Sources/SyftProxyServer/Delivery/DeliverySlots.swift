import Synchronization
import SyftProxyCore

/// Counts push deliveries in flight so the dispatcher never leases more than it can run.
final class DeliverySlots: Sendable {
    private let inUse = Mutex(0)
    private let freed = WakeupRegistry<Int>()
    let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func take() { inUse.withLock { $0 += 1 } }

    func give() {
        inUse.withLock { $0 -= 1 }
        freed.signal(0)
    }

    /// Free slots now, waiting (bounded) for one to free up when all are taken.
    func waitForFree() async -> Int {
        let ticket = freed.register(0)
        defer { freed.unregister(ticket) }
        let free = capacity - inUse.withLock { $0 }
        if free > 0 { return free }
        await freed.wait(ticket, until: Timestamp.now() + 1)
        return capacity - inUse.withLock { $0 }
    }
}
