import Synchronization

/// Round-robin over replica URLs with outlier detection per replica: after `ejectAfter`
/// consecutive connection failures a replica leaves the rotation, and comes back once a
/// /health probe (or any answer) succeeds. Probes come no more often than the replica's
/// backoff allows, so a dead replica is not hammered. Times are monotonic seconds: a wall
/// clock stepped by NTP neither keeps a replica out nor lets it back early.
public final class LoadBalancer: Sendable {
    public let urls: [String]
    private let state: Mutex<State>
    /// First pause before an ejected replica is probed again; doubles per failed probe.
    public let baseCooldown: Double
    public let maximumCooldown: Double
    /// Consecutive connection failures that take a replica out of rotation.
    public let ejectAfter: Int

    struct Replica {
        var consecutiveFailures = 0
        /// nil: in rotation. Otherwise out until this time, then probed.
        var retryAt: Double?
    }

    struct State {
        var replicas: [Replica]
        var next = 0
    }

    /// An empty `urls` builds a balancer that picks nothing: every call through it fails with
    /// ``ProxyClientError/configuration(_:)``.
    public init(urls: [String], baseCooldown: Double = 0.5, maximumCooldown: Double = 10, ejectAfter: Int = 3) {
        self.urls = urls.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.baseCooldown = baseCooldown
        self.maximumCooldown = max(baseCooldown, maximumCooldown)
        self.ejectAfter = max(1, ejectAfter)
        self.state = Mutex(State(replicas: Array(repeating: Replica(), count: urls.count)))
    }

    public enum Pick: Sendable, Equatable {
        case healthy(Int)
        /// Out of rotation but due for a probe.
        case probe(Int)
        /// Every replica not yet tried is out of rotation and none is due: the one back
        /// soonest, tried anyway, because failing without a try helps no caller.
        case lastResort(Int)
    }

    /// The next replica to use, skipping `excluded` (already tried for this call). A replica
    /// out of rotation whose pause is over comes first, to be probed, so it rejoins even while
    /// the others are healthy; otherwise the next healthy replica in round-robin order.
    func next(excluding excluded: Set<Int>, now: Double = MonotonicClock.seconds()) -> Pick? {
        state.withLock { state in
            let count = state.replicas.count
            for index in 0..<count where !excluded.contains(index) {
                guard let retryAt = state.replicas[index].retryAt, retryAt <= now else { continue }
                // Claim the probe so concurrent calls do not all probe the same replica.
                state.replicas[index].retryAt = now + pause(afterFailures: state.replicas[index].consecutiveFailures)
                return .probe(index)
            }
            for offset in 0..<count {
                let index = (state.next + offset) % count
                guard !excluded.contains(index), state.replicas[index].retryAt == nil else { continue }
                state.next = (index + 1) % count
                return .healthy(index)
            }
            let soonest = (0..<count).filter { !excluded.contains($0) }.min {
                (state.replicas[$0].retryAt ?? now) < (state.replicas[$1].retryAt ?? now)
            }
            return soonest.map(Pick.lastResort)
        }
    }

    /// A connection-level failure (refused, reset, unreachable, connect timeout). Slow
    /// answers, HTTP errors and cancelled calls are not failures of the replica.
    func markFailed(_ index: Int, now: Double = MonotonicClock.seconds()) {
        state.withLock { state in
            state.replicas[index].consecutiveFailures += 1
            let failures = state.replicas[index].consecutiveFailures
            if state.replicas[index].retryAt != nil || failures >= ejectAfter {
                state.replicas[index].retryAt = now + pause(afterFailures: failures)
            }
        }
    }

    func markHealthy(_ index: Int) {
        state.withLock { $0.replicas[index] = Replica() }
    }

    /// Replicas currently in rotation.
    public var healthyURLs: [String] {
        state.withLock { state in state.replicas.indices.filter { state.replicas[$0].retryAt == nil }.map { urls[$0] } }
    }

    /// `baseCooldown` for the failure that ejected the replica, doubling for each one after.
    private func pause(afterFailures failures: Int) -> Double {
        min(maximumCooldown, baseCooldown * Double(1 << min(max(failures - ejectAfter, 0), 10)))
    }
}

/// Seconds on a clock that only moves forward, for pauses and deadlines inside the client.
enum MonotonicClock {
    private static let origin = ContinuousClock.now

    static func seconds() -> Double {
        let elapsed = ContinuousClock.now - origin
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
