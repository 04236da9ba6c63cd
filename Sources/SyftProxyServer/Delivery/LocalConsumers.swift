import Logging
import Synchronization
import SyftProxyCore

/// A consumer on this replica that can take a request the moment it is created here (the
/// local fast path): the send leases the request to it in its create step and hands it over
/// in process, with no queue, no wake-up through the store and no lease step of its own.
protocol LocalConsumer: AnyObject, Sendable {
    /// How the store's timeline names this consumer's leases.
    var kind: InboxConsumer { get }
    /// Holds room for one request; false when the consumer is full or closing.
    func reserve() -> Bool
    /// Gives up a reservation whose request was queued instead (or never created).
    func cancelReservation()
    /// Takes a request leased to it under a reservation. False when the consumer closed
    /// meanwhile: the caller then hands the lease back.
    func take(_ record: RPCRecord) -> Bool
}

/// This replica's local consumers, by pair. A send asks for one with room; pairs take turns
/// among their consumers so one socket is not filled while another idles.
final class LocalConsumers: Sendable {
    private struct Pair {
        var consumers: [ObjectIdentifier: any LocalConsumer] = [:]
        var order: [ObjectIdentifier] = []
        var next = 0
    }

    private let pairs = Mutex<[QueueName: Pair]>([:])

    func add(_ consumer: any LocalConsumer, for name: QueueName) {
        let id = ObjectIdentifier(consumer)
        pairs.withLock { pairs in
            guard pairs[name, default: Pair()].consumers.updateValue(consumer, forKey: id) == nil else { return }
            pairs[name, default: Pair()].order.append(id)
        }
    }

    func remove(_ consumer: any LocalConsumer, for name: QueueName) {
        let id = ObjectIdentifier(consumer)
        pairs.withLock { pairs in
            guard var pair = pairs[name], pair.consumers.removeValue(forKey: id) != nil else { return }
            pair.order.removeAll { $0 == id }
            pairs[name] = pair.order.isEmpty ? nil : pair
        }
    }

    /// A reservation on a consumer of the pair with room, or nil when there is none.
    func reserve(appName: String, destination: String) -> LocalReservation? {
        let name = QueueName(appName: appName, destination: destination)
        return pairs.withLock { pairs -> LocalReservation? in
            guard var pair = pairs[name], !pair.order.isEmpty else { return nil }
            defer { pairs[name] = pair }
            for step in 0..<pair.order.count {
                let index = (pair.next + step) % pair.order.count
                guard let consumer = pair.consumers[pair.order[index]], consumer.reserve() else { continue }
                pair.next = index + 1
                return LocalReservation(consumer: consumer)
            }
            return nil
        }
    }

    var isEmpty: Bool { pairs.withLock { $0.isEmpty } }
}

/// Room held on a local consumer while its request is created. The first of `complete` and
/// `cancel` settles it; later calls do nothing, so a send can cancel on every way out.
final class LocalReservation: Sendable {
    let consumer: any LocalConsumer
    private let settled = Atomic(false)

    init(consumer: any LocalConsumer) { self.consumer = consumer }

    var kind: InboxConsumer { consumer.kind }

    /// Hands the created request over when the store leased it to this consumer; otherwise (it
    /// was queued, a duplicate, or routed to push) just frees the room. A consumer that closed
    /// in between gets nothing: its lease goes back at once, uncounted, since no app saw it.
    func complete(_ outcome: CreateOutcome, store: any RPCStore, logger: Logger) {
        guard !settled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        guard case .created(let record) = outcome, record.state == .processing, let token = record.leaseToken else {
            return consumer.cancelReservation()
        }
        if consumer.take(record) { return }
        Task {
            do {
                _ = try await store.releaseLease(id: record.id, token: token)
            } catch {
                logger.warning("could not hand back a request whose local consumer closed; its lease expiry returns it", metadata: ["id": "\(record.id)", "error": "\(error)"])
            }
        }
    }

    func cancel() {
        guard !settled.exchange(true, ordering: .acquiringAndReleasing) else { return }
        consumer.cancelReservation()
    }
}
