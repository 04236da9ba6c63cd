import Logging
import SyftProxyCore
import SyftProxySyftBox

/// What every route needs: the store, the settings, this replica's identity and its metrics.
public struct ProxyEnvironment: Sendable {
    public let store: any RPCStore
    public let configuration: ProxyConfiguration
    public let replicaID: String
    public let startedAt: Double
    public let metrics: ProxyMetrics
    public let version: String
    public let apiKeys: APIKeys
    /// Operators' keys (PROXY_ADMIN_KEYS); empty turns /admin and /dashboard off.
    public let adminKeys: APIKeys
    /// This replica's push outcomes per endpoint, written to the store once a second.
    public let endpointHealth = EndpointHealthRecorder()
    /// This replica's consumers that take a request straight from its send (the local fast path).
    let localConsumers = LocalConsumers()
    /// The SyftBox file transport, when PROXY_SYFTBOX_DATA_DIR is set.
    public let syftBox: SyftBoxTransport?
    let syftBoxRouting: SyftBoxRouting?
    let rateLimiter: RateLimiter
    /// PROXY_MAX_REQUESTS, one count for the HTTP router and the WebSocket upgrade check.
    let inFlight: InFlightLimitMiddleware

    public init(store: any RPCStore, configuration: ProxyConfiguration, replicaID: String, apiKeys: APIKeys = APIKeys(),
                adminKeys: APIKeys = APIKeys(), metrics: ProxyMetrics = ProxyMetrics(), version: String = SyftProxyVersion.current,
                logger: Logger = Logger(label: "syft-proxy")) {
        self.store = store
        self.configuration = configuration
        self.apiKeys = apiKeys
        self.adminKeys = adminKeys
        self.rateLimiter = RateLimiter(store: store, perMinute: configuration.rateLimit)
        self.inFlight = InFlightLimitMiddleware(limit: configuration.maxRequests, metrics: metrics)
        self.replicaID = replicaID
        self.startedAt = Timestamp.now()
        self.metrics = metrics
        self.version = version
        if let settings = configuration.syftBox {
            let transport = SyftBoxTransport(
                settings: settings, store: store, leaseSeconds: configuration.leaseSeconds, logger: logger,
                onFinished: { [metrics] record in metrics.finished(record) })
            self.syftBox = transport
            self.syftBoxRouting = SyftBoxRouting(transport: transport, store: store, logger: logger)
        } else {
            self.syftBox = nil
            self.syftBoxRouting = nil
        }
    }
}

public enum SyftProxyVersion {
    public static let current = "0.1.0"
}
