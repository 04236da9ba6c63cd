/// Error texts the proxy writes into failed requests. Both stores use them, so a client sees
/// the same words whichever store runs. A timeout always says "timed out" (SPEC.md).
public enum FailureMessages {
    static let timeoutPrefix = "timed out"

    public static func timedOut(after seconds: Double) -> String {
        // Milliseconds are precise enough, and keep float noise from deadline arithmetic out of the text.
        "\(timeoutPrefix) after \(JSONValue.format((seconds * 1000).rounded() / 1000)) s without an answer from the app"
    }

    public static let cancelled = "cancelled by an operator"
    public static let purged = "purged by an operator"

    public static func deliveriesExhausted(attempts: Int, leaseSeconds: Double) -> String {
        "not answered after \(attempts) deliveries (each lease of \(JSONValue.format(leaseSeconds)) s expired); the app may be down or crashing on this request"
    }

    public static func consumerDropped(attempts: Int) -> String {
        consumerDropped(attemptsText: String(attempts))
    }

    /// The text with the count given as text, for a store that fills it in where it counts
    /// (a Redis script).
    public static func consumerDropped(attemptsText: String) -> String {
        "not answered after \(attemptsText) deliveries (the last consumer dropped while holding it); the app may be down or crashing on this request"
    }
}

/// Keys the embedded store and waiters use to name one app's queue on one datasite.
public struct QueueName: Sendable, Hashable {
    public var appName: String
    public var destination: String
    public init(appName: String, destination: String) {
        self.appName = appName
        self.destination = destination
    }
}

extension RPCRecord {
    /// Failed because its deadline passed: answers are refused after the deadline, so a
    /// failure stamped at or after it can only be the proxy's own timeout.
    public var timedOut: Bool {
        state == .failed && (completedAt ?? 0) >= deadline && error?.hasPrefix(FailureMessages.timeoutPrefix) == true
    }
}
