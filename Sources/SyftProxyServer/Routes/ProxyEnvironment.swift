import Logging
import SyftProxyCore

/// What every route needs: the store, the settings, this replica's identity and its metrics.
public struct ProxyEnvironment: Sendable {
    public let store: any RPCStore
    public let configuration: ProxyConfiguration
    public let replicaID: String
    public let startedAt: Double
    public let metrics: ProxyMetrics
    public let version: String
    public let apiKeys: APIKeys
    let rateLimiter: RateLimiter

    public init(store: any RPCStore, configuration: ProxyConfiguration, replicaID: String, apiKeys: APIKeys = APIKeys(),
                metrics: ProxyMetrics = ProxyMetrics(), version: String = SyftProxyVersion.current) {
        self.store = store
        self.configuration = configuration
        self.apiKeys = apiKeys
        self.rateLimiter = RateLimiter(store: store, perMinute: configuration.rateLimit)
        self.replicaID = replicaID
        self.startedAt = Timestamp.now()
        self.metrics = metrics
        self.version = version
    }
}

public enum SyftProxyVersion {
    public static let current = "0.1.0"
}
