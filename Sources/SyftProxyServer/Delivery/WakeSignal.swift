import Synchronization

/// A wake-up for one waiting task at a time: a fire with nobody waiting is kept for the next
/// wait, so none is lost between a check and the wait that follows it.
final class WakeSignal: Sendable {
    private struct State {
        var pending = false
        var waiter: CheckedContinuation<Void, Never>?
    }

    private let state = Mutex(State())

    func fire() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard let waiter = state.waiter else {
                state.pending = true
                return nil
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume()
    }

    /// Returns when fired (at once when fired since the last wait), when the task is
    /// cancelled, or after `timeout`.
    func wait(timeout: Duration? = nil) async {
        guard let timeout else { return await waitUntilFired() }
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                // Cancelled once the wait is over; only a sleep that ran its course fires.
                guard (try? await Task.sleep(for: timeout)) != nil else { return }
                self.fire()
            }
            await waitUntilFired()
            group.cancelAll()
        }
    }

    private func waitUntilFired() async {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let now = state.withLock { state -> Bool in
                    if state.pending || Task.isCancelled {
                        state.pending = false
                        return true
                    }
                    state.waiter = continuation
                    return false
                }
                if now { continuation.resume() }
            }
        } onCancel: {
            fire()
        }
    }
}
