import Foundation
import Logging
import SyftProxyCore
import SyftProxySyftBox

/// Every setting of SPEC.md's Configuration section. Read from PROXY_* environment variables;
/// the CLI overrides single fields from its flags.
public struct ProxyConfiguration: Sendable, Equatable {
    public var host = "0.0.0.0"
    public var port = 8000
    /// Event loop threads; defaults to the number of cores.
    public var workers = System.coreCount
    public var logLevel: Logger.Level = .info
    /// "json" (one object per line) or "text".
    public var logFormat = "json"
    /// Requests in flight on this replica (blocking callers included) before 503.
    public var maxRequests = 1000
    public var timeout: Double = 60
    public var maxTimeout: Double = 300
    /// nil runs the embedded store.
    public var redisURL: String?
    public var requestTTL: Double = 3600
    /// `key=identity` pairs separated by commas; empty means the API is open.
    public var apiKeys: String?
    /// A file of `key=identity` lines, read at start (for keys mounted from a secret).
    public var apiKeysFile: String?
    /// Requests per minute per identity; 0 turns limiting off.
    public var rateLimit = 0
    public var maxAttempts = 3
    public var maxParamsBytes = 1_000_000
    /// nil means 4 x maxParamsBytes.
    public var maxBodyBytesOverride: Int?
    public var leaseSeconds: Double = 30
    public var replicaID: String?
    /// Concurrent push deliveries per replica.
    public var pushConcurrency = 32
    /// Push deliveries in flight per app endpoint (host and port); nil means a quarter of
    /// pushConcurrency (at least 1).
    public var pushEndpointConcurrencyOverride: Int?
    /// Networks push deliveries may not connect to, besides PushAddressPolicy.defaultDenials.
    public var pushDenyNetworks: [PushNetwork] = []
    /// Networks push deliveries may connect to even when denied.
    public var pushAllowNetworks: [PushNetwork] = []
    /// How often each replica looks for overdue requests and expired leases.
    public var sweepInterval: Double = 0.25
    /// The SyftBox data_dir (holding datasites/); nil turns the SyftBox transport off.
    public var syftBoxDataDirectory: String?
    /// The identity request files are written as.
    public var syftBoxEmail: String?
    /// How often answer files are looked for without a file event.
    public var syftBoxPollInterval: Double = 0.5

    public init() {}

    public var maxBodyBytes: Int { maxBodyBytesOverride ?? maxParamsBytes * 4 }

    public var pushEndpointConcurrency: Int { pushEndpointConcurrencyOverride ?? max(1, pushConcurrency / 4) }

    public var limits: RequestLimits {
        RequestLimits(defaultTimeout: timeout, maximumTimeout: maxTimeout, maximumParamsBytes: maxParamsBytes)
    }

    public var storeSettings: StoreSettings {
        StoreSettings(requestTTL: requestTTL, maximumAttempts: maxAttempts, leaseSeconds: leaseSeconds)
    }

    /// Reads PROXY_* variables; unknown variables are ignored, malformed ones are errors.
    public init(environment: [String: String]) throws(ConfigurationError) {
        let reader = EnvironmentReader(environment: environment)
        host = reader.string("PROXY_HOST") ?? host
        port = try reader.int("PROXY_PORT", range: 0...65535) ?? port
        workers = try reader.int("PROXY_WORKERS", range: 1...512) ?? workers
        if let level = reader.string("PROXY_LOG_LEVEL") { logLevel = try Self.parseLogLevel(level) }
        if let format = reader.string("PROXY_LOG_FORMAT") {
            guard ["json", "text"].contains(format) else { throw ConfigurationError("PROXY_LOG_FORMAT must be json or text, got '\(format)'") }
            logFormat = format
        }
        maxRequests = try reader.int("PROXY_MAX_REQUESTS", range: 1...10_000_000) ?? maxRequests
        timeout = try reader.seconds("PROXY_TIMEOUT") ?? timeout
        maxTimeout = try reader.seconds("PROXY_MAX_TIMEOUT") ?? maxTimeout
        redisURL = reader.string("PROXY_REDIS_URL")
        requestTTL = try reader.seconds("PROXY_REQUEST_TTL") ?? requestTTL
        apiKeys = reader.string("PROXY_API_KEYS")
        apiKeysFile = reader.string("PROXY_API_KEYS_FILE")
        rateLimit = try reader.int("PROXY_RATE_LIMIT", range: 0...100_000_000) ?? rateLimit
        maxAttempts = try reader.int("PROXY_MAX_ATTEMPTS", range: 1...1000) ?? maxAttempts
        maxParamsBytes = try reader.int("PROXY_MAX_PARAMS_BYTES", range: 2...1_000_000_000) ?? maxParamsBytes
        maxBodyBytesOverride = try reader.int("PROXY_MAX_BODY_BYTES", range: 2...4_000_000_000)
        leaseSeconds = try reader.seconds("PROXY_LEASE_SECONDS") ?? leaseSeconds
        replicaID = reader.string("PROXY_REPLICA_ID")
        pushConcurrency = try reader.int("PROXY_PUSH_CONCURRENCY", range: 1...10_000) ?? pushConcurrency
        pushEndpointConcurrencyOverride = try reader.int("PROXY_PUSH_ENDPOINT_CONCURRENCY", range: 1...10_000)
        if let text = reader.string("PROXY_PUSH_DENY_NETWORKS") { pushDenyNetworks = try PushNetwork.list(parsing: text, setting: "PROXY_PUSH_DENY_NETWORKS") }
        if let text = reader.string("PROXY_PUSH_ALLOW_NETWORKS") { pushAllowNetworks = try PushNetwork.list(parsing: text, setting: "PROXY_PUSH_ALLOW_NETWORKS") }
        syftBoxDataDirectory = reader.string("PROXY_SYFTBOX_DATA_DIR")
        syftBoxEmail = reader.string("PROXY_SYFTBOX_EMAIL")
        syftBoxPollInterval = try reader.seconds("PROXY_SYFTBOX_POLL_INTERVAL") ?? syftBoxPollInterval
        try validate()
    }

    /// Checks the relations between settings, after flags have been applied too.
    public func validate() throws(ConfigurationError) {
        if timeout > maxTimeout {
            throw ConfigurationError("PROXY_TIMEOUT (\(timeout)) must not exceed PROXY_MAX_TIMEOUT (\(maxTimeout))")
        }
        if maxBodyBytes < maxParamsBytes {
            throw ConfigurationError("PROXY_MAX_BODY_BYTES (\(maxBodyBytes)) must be at least PROXY_MAX_PARAMS_BYTES (\(maxParamsBytes))")
        }
        if requestTTL < timeout {
            throw ConfigurationError("PROXY_REQUEST_TTL (\(requestTTL)) must be at least PROXY_TIMEOUT (\(timeout)), or records would expire before their requests time out")
        }
        try validateSyftBox()
        if let redisURL, !redisURL.hasPrefix("redis://") {
            throw ConfigurationError("PROXY_REDIS_URL must look like redis://host:6379/0, got '\(redisURL)'")
        }
    }

    /// The SyftBox transport's settings, when PROXY_SYFTBOX_DATA_DIR is set.
    public var syftBox: SyftBoxSettings? {
        guard let syftBoxDataDirectory, let syftBoxEmail else { return nil }
        return SyftBoxSettings(dataDirectory: syftBoxDataDirectory, email: syftBoxEmail, pollInterval: syftBoxPollInterval,
                               maximumAnswerBytes: maxBodyBytes)
    }

    private func validateSyftBox() throws(ConfigurationError) {
        switch (syftBoxDataDirectory, syftBoxEmail) {
        case (nil, nil):
            return
        case (nil, _?):
            throw ConfigurationError("PROXY_SYFTBOX_EMAIL is set but PROXY_SYFTBOX_DATA_DIR is not; set both to turn on the SyftBox transport")
        case (_?, nil):
            throw ConfigurationError("PROXY_SYFTBOX_DATA_DIR is set but PROXY_SYFTBOX_EMAIL is not; set it to the identity the SyftBox client is logged in as")
        case (let directory?, let email?):
            guard SyftBoxIdentity.isValid(email) else {
                throw ConfigurationError("PROXY_SYFTBOX_EMAIL must be a SyftBox identity such as proxy@example.com (name@domain.tld), got '\(email)'")
            }
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else {
                throw ConfigurationError("PROXY_SYFTBOX_DATA_DIR (\(directory)) is not a folder; point it at the SyftBox data_dir that holds datasites/")
            }
        }
    }

    /// The keys of PROXY_API_KEYS and PROXY_API_KEYS_FILE together.
    public func loadAPIKeys() throws(ConfigurationError) -> APIKeys {
        var identities = try APIKeys(parsing: apiKeys ?? "", source: "PROXY_API_KEYS").identities
        if let apiKeysFile {
            let text: String
            do { text = try String(contentsOfFile: apiKeysFile, encoding: .utf8) } catch {
                throw ConfigurationError("PROXY_API_KEYS_FILE: cannot read \(apiKeysFile): \(error)")
            }
            for (key, identity) in try APIKeys(parsing: text, source: "PROXY_API_KEYS_FILE").identities { identities[key] = identity }
        }
        return APIKeys(identities)
    }

    public static func parseLogLevel(_ text: String) throws(ConfigurationError) -> Logger.Level {
        let normalized = text.lowercased() == "warn" ? "warning" : text.lowercased()
        guard let level = Logger.Level(rawValue: normalized) else {
            throw ConfigurationError("PROXY_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical; got '\(text)'")
        }
        return level
    }
}

public struct ConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

private struct EnvironmentReader {
    let environment: [String: String]

    func string(_ name: String) -> String? {
        guard let value = environment[name]?.trimmingWhitespace, !value.isEmpty else { return nil }
        return value
    }

    func int(_ name: String, range: ClosedRange<Int>) throws(ConfigurationError) -> Int? {
        guard let text = string(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ConfigurationError("\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(text)'")
        }
        return value
    }

    func seconds(_ name: String) throws(ConfigurationError) -> Double? {
        guard let text = string(name) else { return nil }
        guard let value = Double(text), value.isFinite, value > 0 else {
            throw ConfigurationError("\(name) must be a number of seconds greater than 0, got '\(text)'")
        }
        return value
    }
}

extension String {
    var trimmingWhitespace: String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}
