import Synchronization

/// The shards this replica believes may hold push work, so a push lease visits those and not
/// every shard per empty poll. A shard is marked by its wake-up (`p` on its channel), by a
/// create or registration on this replica that routed work to push, and, as the safety net for
/// lost wake-ups and work queued before this replica started, every shard once per recheck
/// interval. Shards are visited round-robin from where the last visit stopped, so a busy shard
/// cannot starve the others.
final class PushShards: Sendable {
    private struct State {
        var marked: [Bool]
        var markedCount = 0
        var cursor = 0
        /// When every shard was last marked; -infinity, so the first lease marks them all.
        var lastFullMark = -Double.infinity
    }

    private let state: Mutex<State>
    let recheckInterval: Double

    init(count: Int, recheckInterval: Double) {
        state = Mutex(State(marked: Array(repeating: false, count: max(1, count))))
        self.recheckInterval = recheckInterval
    }

    func mark(_ shard: Int) {
        state.withLock { state in
            guard state.marked.indices.contains(shard), !state.marked[shard] else { return }
            state.marked[shard] = true
            state.markedCount += 1
        }
    }

    func markAll(at now: Double) {
        state.withLock { state in
            state.marked = Array(repeating: true, count: state.marked.count)
            state.markedCount = state.marked.count
            state.lastFullMark = now
        }
    }

    /// Marks every shard when the last full mark is older than the recheck interval.
    func markAllIfDue(at now: Double) {
        state.withLock { state in
            guard now - state.lastFullMark >= recheckInterval else { return }
            state.marked = Array(repeating: true, count: state.marked.count)
            state.markedCount = state.marked.count
            state.lastFullMark = now
        }
    }

    func hasWork(at now: Double) -> Bool {
        state.withLock { $0.markedCount > 0 || now - $0.lastFullMark >= recheckInterval }
    }

    /// The next marked shard from the cursor on, unmarked before the caller leases from it
    /// (so a wake-up arriving meanwhile marks it again); nil when none is marked.
    func takeNext() -> Int? {
        state.withLock { state in
            guard state.markedCount > 0 else { return nil }
            let count = state.marked.count
            for step in 0..<count {
                let shard = (state.cursor + step) % count
                if state.marked[shard] {
                    state.marked[shard] = false
                    state.markedCount -= 1
                    state.cursor = (shard + 1) % count
                    return shard
                }
            }
            return nil
        }
    }
}
