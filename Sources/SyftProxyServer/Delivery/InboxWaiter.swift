import Synchronization
import SyftProxyCore

/// A long-polling GET /rpc/inbox while it waits, as a local consumer of one request: a send on
/// this replica for the pair leases its request to the poll in the create step and the poll
/// answers with it, instead of the send queueing it and the poll leasing it back.
final class InboxWaiter: LocalConsumer {
    private enum State {
        case waiting
        /// A send holds the room and is creating its request.
        case reserved
        case delivered(RPCRecord)
        /// The poll stopped waiting; whatever comes now is refused.
        case closed
    }

    private let state = Mutex(State.waiting)
    private let arrived = WakeSignal()

    var kind: InboxConsumer { .pull }

    func reserve() -> Bool {
        state.withLock { state in
            guard case .waiting = state else { return false }
            state = .reserved
            return true
        }
    }

    func cancelReservation() {
        state.withLock { state in
            if case .reserved = state { state = .waiting }
        }
    }

    func take(_ record: RPCRecord) -> Bool {
        let taken = state.withLock { state -> Bool in
            guard case .reserved = state else { return false }
            state = .delivered(record)
            return true
        }
        if taken { arrived.fire() }
        return taken
    }

    /// Returns when a request was handed over, or the task is cancelled.
    func waitForDelivery() async {
        await arrived.wait()
    }

    /// Stops taking requests; the one handed over, if any, is the poll's to return.
    func close() -> RPCRecord? {
        state.withLock { state in
            defer { state = .closed }
            if case .delivered(let record) = state { return record }
            return nil
        }
    }
}
