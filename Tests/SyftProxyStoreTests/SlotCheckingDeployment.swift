import Logging
import Synchronization
import SyftProxyRedis

/// A deployment that passes every call on and checks what a Redis Cluster would: every key of
/// a script (and a command's key) hashes to one slot, and a command names the key it is
/// routed by. It records the slots each call touched and how many scripts ran per slot, so a
/// test can see which shards a call visited.
final class SlotCheckingDeployment: RedisDeployment {
    let inner: any RedisDeployment
    private let state = Mutex<State>(State())

    struct State {
        var violations: [String] = []
        var evalsPerSlot: [Int: Int] = [:]
        var slotsTouched: Set<Int> = []
    }

    init(_ inner: any RedisDeployment) { self.inner = inner }

    var violations: [String] { state.withLock { $0.violations } }
    var slotsTouched: Set<Int> { state.withLock { $0.slotsTouched } }
    var evalsPerSlot: [Int: Int] { state.withLock { $0.evalsPerSlot } }
    func resetCounts() { state.withLock { $0.evalsPerSlot = [:] } }

    func send(_ command: RedisCommand, routingKey: String?) async throws -> RESPValue {
        let arguments = command.arguments.map { String(decoding: $0, as: UTF8.self) }
        if let routingKey {
            let slot = RedisHashSlot.slot(of: routingKey)
            state.withLock { state in
                state.slotsTouched.insert(slot)
                if arguments.count < 2 || RedisHashSlot.slot(of: arguments[1]) != slot {
                    state.violations.append("\(arguments.first ?? "") routed by '\(routingKey)' names another slot's key")
                }
            }
        }
        return try await inner.send(command, routingKey: routingKey)
    }

    func eval(_ script: RedisScript, keys: [String], args: [String]) async throws -> RESPValue {
        let slots = Set(keys.map(RedisHashSlot.slot(of:)))
        state.withLock { state in
            if slots.count != 1 { state.violations.append("a script with keys \(keys) spans slots \(slots.sorted())") }
            if let slot = slots.first {
                state.slotsTouched.insert(slot)
                state.evalsPerSlot[slot, default: 0] += 1
            }
        }
        return try await inner.eval(script, keys: keys, args: args)
    }

    func run() async { await inner.run() }
    func shutdown() async { await inner.shutdown() }

    func makeShardSubscriber(
        channels: [String], logger: Logger, onMessage: @escaping @Sendable (String, [UInt8]) -> Void, onSubscribed: @escaping @Sendable () -> Void
    ) -> any RedisShardSubscription {
        inner.makeShardSubscriber(channels: channels, logger: logger, onMessage: onMessage, onSubscribed: onSubscribed)
    }

    var topology: RedisTopology { inner.topology }
}
