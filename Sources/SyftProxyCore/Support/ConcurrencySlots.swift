import Synchronization

/// Counts work in flight against a bound, so a dispatcher never takes more than it can run
/// (the push forwarder, the app SDK's handlers).
public final class ConcurrencySlots: Sendable {
    private let inUse = Mutex(0)
    private let freed = WakeupRegistry<Int>()
    public let capacity: Int

    public init(capacity: Int) { self.capacity = max(1, capacity) }

    public func take() { inUse.withLock { $0 += 1 } }

    public func give() {
        inUse.withLock { $0 -= 1 }
        freed.signal(0)
    }

    /// Free slots now, waiting (at most a second) for one to free up when all are taken.
    public func waitForFree() async -> Int {
        let ticket = freed.register(0)
        defer { freed.unregister(ticket) }
        let free = capacity - inUse.withLock { $0 }
        if free > 0 { return free }
        await freed.wait(ticket, until: Timestamp.now() + 1)
        return capacity - inUse.withLock { $0 }
    }
}
