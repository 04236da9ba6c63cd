import Synchronization

/// Round-trip durations recorded since the last heartbeat took them: each heartbeat reports
/// the rate and percentiles of its own interval, so figures never mix old and new traffic.
/// At most `capacity` durations are kept per interval (the rate still counts every one).
final class RoundTripWindow: Sendable {
    struct Taken: Sendable {
        var count: Int
        var p50: Double?
        var p99: Double?
    }

    private struct State {
        var count = 0
        var samples: [Double] = []
    }

    static let capacity = 10_000
    private let state = Mutex(State())

    func record(_ seconds: Double) {
        state.withLock { state in
            state.count += 1
            if state.samples.count < Self.capacity { state.samples.append(seconds) }
        }
    }

    /// The interval's figures; the window starts over.
    func take() -> Taken {
        let taken = state.withLock { state -> State in
            defer { state = State() }
            return state
        }
        let sorted = taken.samples.sorted()
        func percentile(_ p: Double) -> Double? {
            guard !sorted.isEmpty else { return nil }
            let rank = max(0, Int((Double(sorted.count) * p).rounded(.up)) - 1)
            return sorted[min(sorted.count - 1, rank)]
        }
        return Taken(count: taken.count, p50: percentile(0.5), p99: percentile(0.99))
    }
}
