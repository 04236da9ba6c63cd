import ServiceLifecycle
import Synchronization
import SyftProxyCore
import SyftProxyRedis

/// Runs a RedisStore's connections: the deployment's command connections and the shard
/// subscriber whose wake-ups the store routes to its waiters. Graceful shutdown (or
/// cancellation) closes both.
public struct RedisStoreService: Service, CustomStringConvertible {
    let store: RedisStore

    public var description: String { "redis-store" }

    public func run() async throws {
        let deployment = store.deployment
        let subscriber = store.subscriber
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                group.addTask { await deployment.run() }
                group.addTask { await subscriber.run() }
            }
        }
    }
}

/// The store's waiters and how wake-ups reach them. Built before the store so that the
/// subscriber's handlers, which run on its connection's event loop, reference this and not
/// the store.
final class StoreWakeups: Sendable {
    let finals = WakeupRegistry<String>()
    /// Waiters for work on a list, keyed by the list's key for pull queues and by
    /// ``pushWaiters`` for push work on any shard.
    let queueWaiters = WakeupRegistry<String>()
    /// No queue key starts without its tag's brace, so this cannot meet one.
    static let pushWaiters = "push"
    let pushShards: PushShards
    /// Ids this replica is recording an answer for, with how many answers are in flight. Their
    /// published wake-up is ignored: the answering call wakes local senders itself, final record
    /// in hand.
    private let answering = Mutex<[String: Int]>([:])
    private let confirmed = Atomic<Bool>(false)

    init(pushShards: PushShards) { self.pushShards = pushShards }

    /// `shard` is the shard whose channel carried the event.
    func route(_ event: WakeupEvent, shard: Int?) {
        switch event {
        case .final(let id):
            if answering.withLock({ $0[id] != nil }) { return }
            finals.signal(id)
        case .queued(let list):
            queueWaiters.signalOne(list)
        case .pushQueued:
            if let shard { pushQueued(shard) }
        }
    }

    /// Marks before signalling, so a push worker that checks the marks after registering its
    /// wait either sees the mark or gets the signal.
    func pushQueued(_ shard: Int) {
        pushShards.mark(shard)
        queueWaiters.signal(Self.pushWaiters)
    }

    /// True once a subscription was confirmed.
    var hasSubscribed: Bool { confirmed.load(ordering: .relaxed) }

    /// After every (re)subscription: messages may have been missed while the subscription was
    /// down, so everyone re-checks, push workers on every shard.
    func subscribed() {
        confirmed.store(true, ordering: .relaxed)
        pushShards.markAll(at: Timestamp.now())
        finals.signalAll()
        queueWaiters.signalAll()
    }

    func beginAnswering(_ id: String) {
        answering.withLock { $0[id, default: 0] += 1 }
    }

    /// Wakes this replica's senders waiting on `id`, with the final record when there is one.
    func endAnswering(_ id: String, final: RPCRecord?) {
        finals.signal(id, payload: final)
        answering.withLock { counts in
            if let count = counts[id], count > 1 { counts[id] = count - 1 } else { counts[id] = nil }
        }
    }
}
