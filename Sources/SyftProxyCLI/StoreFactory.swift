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

/// The shared store on whatever the URL points at (one Redis, Sentinel, or a Redis Cluster,
/// told apart by asking it): a fixed number of pipelined connections (per master on a cluster)
/// and shard subscriber connections, whatever the number of waiting callers; the store's
/// service runs them.
enum RedisBackend {
    static let connectionCount = 4
    static let connectionsPerClusterNode = 2

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
        let deployment = RedisAutoDeployment(
            configuration: redis, connectionCount: connectionCount, connectionsPerNode: connectionsPerClusterNode, logger: logger)
        let store: RedisStore
        do {
            store = try RedisStore(deployment: deployment, settings: configuration.storeSettings, shards: configuration.redisShards, logger: logger)
        } catch { throw ConfigurationError("\(error)") }
        return StoreFactory.Backend(store: store, services: [store.service])
    }
}
