import ArgumentParser
import Foundation
import Logging
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyServer

/// `syft-proxy serve`: PROXY_* environment first, then flags on top.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run a proxy replica.",
        discussion: "Settings come from PROXY_* environment variables (see README); a flag overrides its variable.")

    @Option(help: "Address to bind (PROXY_HOST, default 0.0.0.0).") var host: String?
    @Option(help: "Port to bind; 0 picks a free one (PROXY_PORT, default 8000).") var port: Int?
    @Option(help: "Event loop threads (PROXY_WORKERS, default: cores).") var workers: Int?
    @Option(help: "trace, debug, info, notice, warning, error or critical (PROXY_LOG_LEVEL).") var logLevel: String?
    @Option(help: "Redis URL, e.g. redis://127.0.0.1:6379/0; unset runs the embedded store (PROXY_REDIS_URL).") var redisURL: String?
    @Option(help: "In-flight request cap per replica (PROXY_MAX_REQUESTS, default 1000).") var maxRequests: Int?
    @Option(help: "Default request timeout in seconds (PROXY_TIMEOUT, default 60).") var timeout: Double?
    @Option(help: "Largest timeout a caller may ask for (PROXY_MAX_TIMEOUT, default 300).") var maxTimeout: Double?
    @Option(help: "Seconds a request's record is kept (PROXY_REQUEST_TTL, default 3600).") var requestTTL: Double?
    @Option(help: "Deliveries before an unanswered request fails (PROXY_MAX_ATTEMPTS, default 3).") var maxAttempts: Int?
    @Option(help: "Largest params object in bytes (PROXY_MAX_PARAMS_BYTES, default 1000000).") var maxParamsBytes: Int?
    @Option(help: "Largest request body in bytes (PROXY_MAX_BODY_BYTES, default 4 x params limit).") var maxBodyBytes: Int?
    @Option(help: "Virtual shards of the Redis key layout, 1..1024; the same on every replica (PROXY_REDIS_SHARDS, default 16).") var redisShards: Int?
    @Option(help: "Seconds a delivery may take before it is delivered again (PROXY_LEASE_SECONDS, default 30).") var leaseSeconds: Double?
    @Option(help: "This replica's id (PROXY_REPLICA_ID, default: generated).") var replicaID: String?
    @Option(help: "Requests per minute per identity or client address, 0 = off (PROXY_RATE_LIMIT).") var rateLimit: Int?
    @Option(help: "File of key=identity lines (PROXY_API_KEYS_FILE).") var apiKeysFile: String?
    @Option(help: "File of key=operator lines for /admin and /dashboard (PROXY_ADMIN_KEYS_FILE).") var adminKeysFile: String?
    @Option(help: "Seconds a failed request is kept as a dead letter, at least the request TTL (PROXY_FAILED_TTL, default 604800 or the request TTL if longer).") var failedTTL: Double?
    @Option(name: .customLong("syftbox-data-dir"), help: "SyftBox data_dir holding datasites/; turns on the SyftBox transport (PROXY_SYFTBOX_DATA_DIR).") var syftBoxDataDirectory: String?
    @Option(name: .customLong("syftbox-email"), help: "Identity the proxy writes SyftBox request files as (PROXY_SYFTBOX_EMAIL).") var syftBoxEmail: String?
    @Option(name: .customLong("syftbox-poll-interval"), help: "Seconds between looks for SyftBox answers (PROXY_SYFTBOX_POLL_INTERVAL, default 0.5).") var syftBoxPollInterval: Double?
    @Option(help: "Push deliveries in flight per replica (PROXY_PUSH_CONCURRENCY, default 32).") var pushConcurrency: Int?
    @Option(help: "Seconds a connection may wait for a complete request head (PROXY_IDLE_TIMEOUT, default 75).") var idleTimeout: Double?
    @Option(help: "Seconds from a request's head to the end of its body (PROXY_BODY_TIMEOUT, default 30).") var bodyTimeout: Double?
    @Option(help: "Comma-separated CIDRs of proxies whose X-Forwarded-For is believed (PROXY_TRUSTED_PROXIES, default none).") var trustedProxies: String?
    @Option(help: "Push deliveries in flight per app endpoint (host and port) per replica (PROXY_PUSH_ENDPOINT_CONCURRENCY, default a quarter of --push-concurrency).") var pushEndpointConcurrency: Int?
    @Option(help: "Comma-separated CIDRs push deliveries may not reach, besides link-local and cloud metadata addresses (PROXY_PUSH_DENY_NETWORKS).") var pushDenyNetworks: String?
    @Option(help: "Comma-separated CIDRs push deliveries may reach even when denied (PROXY_PUSH_ALLOW_NETWORKS).") var pushAllowNetworks: String?

    func run() async throws {
        var configuration: ProxyConfiguration
        do {
            configuration = try ProxyConfiguration(environment: ProcessInfo.processInfo.environment)
            try apply(to: &configuration)
            try configuration.validate()
        } catch {
            throw ValidationError("\(error)")
        }
        let replicaID = configuration.replicaID ?? Self.generatedReplicaID()
        let format = configuration.logFormat
        let level = configuration.logLevel
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = format == "json" ? JSONLogHandler(label: label) : StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "syft-proxy")
        logger.logLevel = configuration.logLevel
        logger[metadataKey: "replica"] = "\(replicaID)"

        let apiKeys: APIKeys
        let adminKeys: APIKeys
        do {
            apiKeys = try configuration.loadAPIKeys()
            adminKeys = try configuration.loadAdminKeys()
        } catch { throw ValidationError("\(error)") }
        let backend = try StoreFactory.make(configuration: configuration, replicaID: replicaID, logger: logger)
        let environment = ProxyEnvironment(
            store: backend.store, configuration: configuration, replicaID: replicaID, apiKeys: apiKeys, adminKeys: adminKeys, logger: logger)
        if !adminKeys.isEmpty {
            logger.notice("operator console on: /admin and /dashboard need an admin key", metadata: ["operators": "\(Set(adminKeys.identities.values).count)"])
        }
        if apiKeys.isEmpty {
            logger.warning("NO API KEYS CONFIGURED: the /rpc API is open to anyone who can reach this port, and requests carry no sender identity. Set PROXY_API_KEYS or PROXY_API_KEYS_FILE to require keys.")
        } else {
            logger.notice("API keys required for /rpc/*", metadata: ["identities": "\(Set(apiKeys.identities.values).count)"])
        }
        if let syftBox = environment.syftBox {
            logger.notice("SyftBox transport on", metadata: [
                "datasites": "\(syftBox.settings.datasites)", "writes_as": "\(syftBox.settings.email)",
                "answers_found_by": "\(syftBox.watchesFiles ? "inotify and polling" : "polling")",
            ])
        }
        if configuration.redisURL == nil {
            logger.notice("no PROXY_REDIS_URL: running on the embedded in-memory store (one replica; state is lost on exit)")
        }
        let host = configuration.host
        let configuredPort = configuration.port
        let storeName = backend.store.backendName
        try await ProxyServer.run(environment: environment, logger: logger, storeServices: backend.services) { channel in
            let port = channel.localAddress?.port ?? configuredPort
            // A plain line on stdout, so scripts and tests can learn the port when --port 0 was used.
            StandardOutput.line("syft-proxy listening on http://\(host):\(port) store=\(storeName) replica=\(replicaID)")
        }
    }

    /// Copies the flags given over the environment's values. Ranges are not checked here:
    /// `validate()` checks every setting, however it was given, with the same bounds.
    private func apply(to configuration: inout ProxyConfiguration) throws {
        if let host { configuration.host = host }
        if let port { configuration.port = port }
        if let workers { configuration.workers = workers }
        if let logLevel { configuration.logLevel = try ProxyConfiguration.parseLogLevel(logLevel) }
        if let redisURL { configuration.redisURL = redisURL.isEmpty ? nil : redisURL }
        if let maxRequests { configuration.maxRequests = maxRequests }
        if let timeout { configuration.timeout = timeout }
        if let maxTimeout { configuration.maxTimeout = maxTimeout }
        if let requestTTL { configuration.requestTTL = requestTTL }
        if let maxAttempts { configuration.maxAttempts = maxAttempts }
        if let maxParamsBytes { configuration.maxParamsBytes = maxParamsBytes }
        if let maxBodyBytes { configuration.maxBodyBytesOverride = maxBodyBytes }
        if let leaseSeconds { configuration.leaseSeconds = leaseSeconds }
        if let redisShards { configuration.redisShards = redisShards }
        if let replicaID { configuration.replicaID = replicaID }
        if let rateLimit { configuration.rateLimit = rateLimit }
        if let apiKeysFile { configuration.apiKeysFile = apiKeysFile }
        if let adminKeysFile { configuration.adminKeysFile = adminKeysFile }
        if let failedTTL { configuration.failedTTLOverride = failedTTL }
        if let syftBoxDataDirectory { configuration.syftBoxDataDirectory = syftBoxDataDirectory }
        if let syftBoxEmail { configuration.syftBoxEmail = syftBoxEmail }
        if let syftBoxPollInterval { configuration.syftBoxPollInterval = syftBoxPollInterval }
        if let pushConcurrency { configuration.pushConcurrency = pushConcurrency }
        if let idleTimeout { configuration.idleTimeout = idleTimeout }
        if let bodyTimeout { configuration.bodyTimeout = bodyTimeout }
        if let trustedProxies {
            configuration.trustedProxies = try ProxyConfiguration.parseNetworks(trustedProxies, name: "--trusted-proxies")
        }
        if let pushEndpointConcurrency { configuration.pushEndpointConcurrencyOverride = pushEndpointConcurrency }
        if let pushDenyNetworks { configuration.pushDenyNetworks = try ProxyConfiguration.parseNetworks(pushDenyNetworks, name: "--push-deny-networks") }
        if let pushAllowNetworks { configuration.pushAllowNetworks = try ProxyConfiguration.parseNetworks(pushAllowNetworks, name: "--push-allow-networks") }
    }

    static func generatedReplicaID() -> String {
        let host = ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init) ?? "replica"
        return "\(host)-\(UUID().uuidString.prefix(8).lowercased())"
    }
}
