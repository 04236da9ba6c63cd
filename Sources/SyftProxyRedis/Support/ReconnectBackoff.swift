/// Reconnect delays: 50 ms doubling to 2 s, each scaled by a random 50–100 % so that many
/// clients losing Redis at once do not come back in lockstep.
struct ReconnectBackoff: Sendable {
    static let initial: Double = 0.05
    static let maximum: Double = 2

    private var attempt = 0

    mutating func reset() { attempt = 0 }

    mutating func next() -> Duration {
        let base = min(Self.maximum, Self.initial * Double(1 << min(attempt, 16)))
        attempt += 1
        return .milliseconds(Int64(base * Double.random(in: 0.5...1.0) * 1000))
    }
}
