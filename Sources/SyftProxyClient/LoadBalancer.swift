import Foundation
import Synchronization

/// Round-robin over replica URLs with a circuit breaker per replica: after a failure a
/// replica leaves the rotation, and comes back once a /health probe succeeds (probed no more
/// often than its backoff allows, so a dead replica is not hammered).
public final class LoadBalancer: Sendable {
    public let urls: [String]
    private let state: Mutex<State>
    /// First pause before a failed replica is probed again; doubles per failed probe.
    public let baseCooldown: Double
    public let maximumCooldown: Double

    struct Replica {
        var failures = 0
        /// nil: in rotation. Otherwise out until this time, then probed.
        var retryAt: Double?
    }

    struct State {
        var replicas: [Replica]
        var next = 0
    }

    public init(urls: [String], baseCooldown: Double = 0.5, maximumCooldown: Double = 10) {
        precondition(!urls.isEmpty, "LoadBalancer needs at least one replica URL")
        self.urls = urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.baseCooldown = baseCooldown
        self.maximumCooldown = maximumCooldown
        self.state = Mutex(State(replicas: Array(repeating: Replica(), count: urls.count)))
    }

    public enum Pick: Sendable, Equatable {
        case healthy(Int)
        /// Out of rotation but due for a probe.
        case probe(Int)
    }

    /// The next replica to use, skipping `excluded` (already tried for this call). A replica
    /// out of rotation whose pause is over comes first, to be probed, so it rejoins even while
    /// the others are healthy; otherwise the next healthy replica in round-robin order.
    func next(excluding excluded: Set<Int>, now: Double = Date().timeIntervalSince1970) -> Pick? {
        state.withLock { state in
            let count = state.replicas.count
            for index in 0..<count where !excluded.contains(index) {
                guard let retryAt = state.replicas[index].retryAt, retryAt <= now else { continue }
                // Claim the probe so concurrent calls do not all probe the same replica.
                state.replicas[index].retryAt = now + cooldown(failures: state.replicas[index].failures)
                return .probe(index)
            }
            for offset in 0..<count {
                let index = (state.next + offset) % count
                guard !excluded.contains(index), state.replicas[index].retryAt == nil else { continue }
                state.next = (index + 1) % count
                return .healthy(index)
            }
            return nil
        }
    }

    func markFailed(_ index: Int, now: Double = Date().timeIntervalSince1970) {
        state.withLock { state in
            state.replicas[index].failures += 1
            state.replicas[index].retryAt = now + cooldown(failures: state.replicas[index].failures)
        }
    }

    func markHealthy(_ index: Int) {
        state.withLock { $0.replicas[index] = Replica() }
    }

    /// Replicas currently in rotation.
    public var healthyURLs: [String] {
        state.withLock { state in state.replicas.indices.filter { state.replicas[$0].retryAt == nil }.map { urls[$0] } }
    }

    private func cooldown(failures: Int) -> Double {
        min(maximumCooldown, baseCooldown * Double(1 << min(max(failures - 1, 0), 10)))
    }
}
