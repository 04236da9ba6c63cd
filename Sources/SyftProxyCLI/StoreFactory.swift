import Logging
import ServiceLifecycle
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyServer

/// Picks the store from configuration: the embedded one without a Redis URL.
enum StoreFactory {
    struct Backend {
        let store: any RPCStore
        /// Background work the store needs (connections, subscriptions), run beside the server.
        let services: [any Service]
    }

    static func make(configuration: ProxyConfiguration, replicaID: String, logger: Logger) throws -> Backend {
        guard let redisURL = configuration.redisURL else {
            return Backend(store: MemoryStore(settings: configuration.storeSettings), services: [])
        }
        throw ConfigurationError("PROXY_REDIS_URL=\(redisURL): the Redis store is not part of this build; unset it to run on the embedded store")
    }
}
