import Logging
import ServiceLifecycle
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyRedis
import SyftProxyRedisStore
import SyftProxyServer

/// Picks the store from configuration: the embedded one without a Redis URL.
enum StoreFactory {
    struct Backend {
        let store: any RPCStore
        /// Background work the store needs (connections, subscriptions), run beside the server.
        let services: [any Service]
    }

    static func make(configuration: ProxyConfiguration, replicaID: String, logger: Logger) throws -> Backend {
        // The timeline names the push forwarder's replica, which may have been generated.
        var configuration = configuration
        configuration.replicaID = replicaID
        guard let redisURL = configuration.redisURL else {
            return Backend(store: MemoryStore(settings: configuration.storeSettings), services: [])
        }
        return try RedisBackend.make(url: redisURL, configuration: configuration, logger: logger)
    }
}

/// The shared store: a fixed pool of pipelined connections and one shard subscriber connection
/// per replica, whatever the number of waiting callers; the store's service runs them. The
/// store sees the pool only as a `RedisDeployment`, so a cluster client drops in here.
enum RedisBackend {
    static let connectionCount = 4

    static func make(url: String, configuration: ProxyConfiguration, logger: Logger) throws -> StoreFactory.Backend {
        let redis: RedisConfiguration
        let settings = configuration.redisTLS
        let tls = url.hasPrefix("rediss")
            ? RedisTLS(caFile: settings.caFile, certificateFile: settings.certificateFile, keyFile: settings.keyFile,
                       serverName: settings.serverName, verifyHostname: settings.verifyHostname)
            : nil
        do { redis = try RedisConfiguration(url: url, tls: tls) } catch { throw ConfigurationError("PROXY_REDIS_URL: \(error)") }
        // Certificates that cannot be read stop the replica now, not at each connect.
        do { _ = try tls?.makeContext() } catch { throw ConfigurationError("\(error)") }
        let pool = RedisConnectionPool(configuration: redis, connectionCount: connectionCount, logger: logger)
        let store: RedisStore
        do {
            store = try RedisStore(deployment: pool, settings: configuration.storeSettings, shards: configuration.redisShards, logger: logger)
        } catch { throw ConfigurationError("\(error)") }
        return StoreFactory.Backend(store: store, services: [store.service])
    }
}
