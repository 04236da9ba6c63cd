/// How an endpoint fared, as the push forwarders saw it.
public struct EndpointHealth: Sendable, Equatable {
    public var lastSuccess: Double?
    public var lastError: Double?
    public var lastErrorMessage: String?
    /// Deliveries that failed since the last success (merged across replicas: see
    /// ``merging(_:)``).
    public var consecutiveFailures: Int

    public init(lastSuccess: Double? = nil, lastError: Double? = nil, lastErrorMessage: String? = nil, consecutiveFailures: Int = 0) {
        self.lastSuccess = lastSuccess
        self.lastError = lastError
        self.lastErrorMessage = lastErrorMessage
        self.consecutiveFailures = consecutiveFailures
    }

    /// This health with one replica's report of an interval added. With a success in the
    /// interval the count restarts from that replica's failures after it; without one the
    /// interval's failures add up. Both stores merge with this rule (Redis in Lua, the same way).
    public func merging(_ report: EndpointHealthReport) -> EndpointHealth {
        var merged = self
        if let success = report.lastSuccess {
            merged.lastSuccess = max(lastSuccess ?? success, success)
            merged.consecutiveFailures = report.failuresSinceSuccess
        } else {
            merged.consecutiveFailures += report.failures
        }
        if let error = report.lastError, error >= (lastError ?? error) {
            merged.lastError = error
            merged.lastErrorMessage = report.lastErrorMessage
        }
        return merged
    }

    public var json: JSONValue {
        .object([
            "last_success": lastSuccess.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "last_error": lastError.map { .string(Timestamp.iso8601($0)) } ?? .null,
            "last_error_message": lastErrorMessage.map(JSONValue.string) ?? .null,
            "consecutive_failures": .int(consecutiveFailures),
        ])
    }
}

/// What one replica's push forwarder saw of one (app, destination) since its last report.
public struct EndpointHealthReport: Sendable, Equatable {
    public var appName: String
    public var destination: String
    public var failures: Int
    /// Failures after the interval's last success (all of them without a success).
    public var failuresSinceSuccess: Int
    public var lastSuccess: Double?
    public var lastError: Double?
    public var lastErrorMessage: String?

    public init(appName: String, destination: String, failures: Int = 0, failuresSinceSuccess: Int = 0, lastSuccess: Double? = nil,
                lastError: Double? = nil, lastErrorMessage: String? = nil) {
        self.appName = appName
        self.destination = destination
        self.failures = failures
        self.failuresSinceSuccess = failuresSinceSuccess
        self.lastSuccess = lastSuccess
        self.lastError = lastError
        self.lastErrorMessage = lastErrorMessage
    }

    public mutating func succeeded(at time: Double) {
        lastSuccess = time
        failuresSinceSuccess = 0
    }

    public mutating func failed(at time: Double, _ message: String) {
        failures += 1
        failuresSinceSuccess += 1
        lastError = time
        lastErrorMessage = message
    }
}

/// An (app, destination) the store knows a way to: a push URL (or SyftBox), pull consumers
/// seen within ``pullConsumerWindow``, or both.
public struct EndpointSummary: Sendable, Equatable {
    public var appName: String
    public var destination: String
    /// The registered URL; a `syft://` one means SyftBox delivery.
    public var pushURL: String?
    /// When an inbox of the pair was last leased from, within the window.
    public var pullConsumerSeen: Double?
    public var health: EndpointHealth?

    public init(appName: String, destination: String, pushURL: String?, pullConsumerSeen: Double?, health: EndpointHealth?) {
        self.appName = appName
        self.destination = destination
        self.pushURL = pushURL
        self.pullConsumerSeen = pullConsumerSeen
        self.health = health
    }
}
