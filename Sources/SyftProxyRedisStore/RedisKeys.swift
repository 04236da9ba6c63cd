import SyftProxyCore

/// The key layout. Every key of one deployment shares the hash tag in `namespace` (default
/// `{syft}`), so each script touches a single slot and the layout moves to Redis Cluster as is.
///
/// - `rpc:{syft}:<id>`: hash, one request's state; expires PROXY_REQUEST_TTL after its deadline
///   while open, after its end once ended. Its `ttl` field holds the TTL in ms for that reset,
///   `idem` the Idempotency-Key that created it, `pref` the shared params it reads instead of
///   its own `params` field.
/// - `{syft}:params:<first id>`: string, the params of a broadcast, stored once for all its
///   requests; outlives every one of them.
/// - `{syft}:q:<n>:<app>:<destination>`: list, ids waiting for a pull consumer (n = app length,
///   so names containing ':' cannot collide).
/// - `{syft}:consumer:<n>:<app>:<destination>`: string, set for 60 s by each inbox lease (a
///   pull consumer is serving the pair).
/// - `{syft}:push`: list, ids waiting for a push forwarder.
/// - `{syft}:ep:<n>:<app>:<destination>`: string, the pair's push URL.
/// - `{syft}:deadlines`, `{syft}:leases`: sorted sets of ids by deadline / lease expiry.
/// - `{syft}:queues`: set of pull queue keys that may hold ids, walked by the sweep's queue trim.
/// - `{syft}:queuewalk`: hash {cursor, counted, total}: where the shared walk over `queues`
///   stands, the ids it has counted so far, and the pull total of the last complete walk.
/// - `{syft}:idem:<digest>`: hash {id, digest}, the request an Idempotency-Key created and the
///   digest of that request; expires with the request. The key's digest covers the caller's
///   scope and the key, so no caller text shapes the key name.
/// - `{syft}:schema:<app>`: hash {schema, owner}.
/// - channel `{syft}:events`: wake-ups (`d:<id>` answered, `q:<queue key>` work queued, `p` push work).
struct RedisKeys: Sendable {
    let namespace: String

    init(namespace: String = "{syft}") { self.namespace = namespace }

    var requestPrefix: String { "rpc:\(namespace):" }
    func request(_ id: String) -> String { requestPrefix + id }
    func queue(_ name: QueueName) -> String { "\(namespace):q:\(name.appName.utf8.count):\(name.appName):\(name.destination)" }
    func endpoint(_ name: QueueName) -> String { "\(namespace):ep:\(name.appName.utf8.count):\(name.appName):\(name.destination)" }
    func consumer(_ name: QueueName) -> String { "\(namespace):consumer:\(name.appName.utf8.count):\(name.appName):\(name.destination)" }
    var pushQueue: String { "\(namespace):push" }
    func idempotency(_ key: IdempotencyKey) -> String { "\(namespace):idem:\(key.scopedKey)" }
    /// Named after the first request of the broadcast, whose id is unique.
    func sharedParams(firstID: String) -> String { "\(namespace):params:\(firstID)" }
    func schema(_ app: String) -> String { "\(namespace):schema:\(app)" }
    var events: String { "\(namespace):events" }
}
