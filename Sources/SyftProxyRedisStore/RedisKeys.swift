import SyftProxyCore
import SyftProxyRedis

/// The key layout, the same on one Redis and on a Redis Cluster. State is split over a fixed
/// number of virtual shards (PROXY_REDIS_SHARDS, default 16). Shard k's hash tag `{syft:k:j}`
/// takes the first j (0, 1, 2, ...) whose slot falls in [k·16384/N, (k+1)·16384/N), so the
/// shards' slots spread evenly and every master of an evenly split cluster holds shards. The
/// tags are fixed by N alone; every replica computes the same ones.
///
/// A request's shard is a digest of its (app, destination) pair, length-prefixed, so names with
/// ':' or braces cannot collide; its id (``RequestIDs``, a v4 UUID) carries the shard in its
/// last three hex digits, so lookups by id find the slot without the pair. No user text is
/// ever inside braces: every key starts with its own tag.
///
/// Per shard (`T` is the shard's tag):
/// - `rpc:T:<id>`: hash, one request's state; expires PROXY_REQUEST_TTL after its deadline
///   while open, after its end once ended (never before its Idempotency-Key claim). `ttl`
///   holds the TTL in ms for that reset, `idem` the claim's key (informational: another slot),
///   `pref` the shared params key it reads instead of its own `params`, `qk` and `ek` its
///   pair's queue and endpoint keys, so scripts re-route it without building pair keys.
/// - `T:params:<first id>`: string, the params of a broadcast's group on this shard, stored
///   once; outlives every request that reads it.
/// - `T:q:<n>:<app>:<destination>`: list, ids waiting for a pull consumer (n = app length).
/// - `T:consumer:<n>:<app>:<destination>`: string, set for 60 s by each inbox lease.
/// - `T:ep:<n>:<app>:<destination>`: string, the pair's push URL.
/// - `T:push`: list, the shard's ids waiting for a push forwarder.
/// - `T:deadlines`, `T:leases`: sorted sets of the shard's ids by deadline / lease expiry.
/// - `T:queues`: set of the shard's pull queue keys, walked by the sweep's queue trim;
///   `T:queuewalk`: hash {cursor, counted, total, iwalk, fwalk}, that walk's state and the
///   places of the walks that trim the two admin indexes.
/// - `T:index`: sorted set, every score 0, of the shard's requests as `<created>:<id>`
///   (``AdminCursor``, fixed-width time so text order is time order), added by the create
///   script; `T:failed`: the same for failed requests as `<failed at>:<id>`, added when a
///   request fails and removed by a retry or delete. The operator console pages them newest
///   first with ZREVRANGEBYLEX; entries whose record expired are skipped, and trimmed by the
///   sweep. The record's `tl` holds its timeline, `fcls` its failure class, `fmem` its
///   `T:failed` entry, `fttl` the failed TTL in ms.
/// - `T:endpoints`: hash, pair (`<n>:<app>:<destination>`) to its endpoint key, added when a
///   URL is registered, dropped when the listing finds the endpoint gone; `T:consumers`: sorted
///   set of pairs by the time of their last inbox lease (trimmed to the consumer window when
///   listed); `T:health`: hash, pair to its push health (JSON), merged from the forwarders'
///   once-a-second reports.
/// - `T:idem:<scoped key digest>`: hash {id, digest}, an Idempotency-Key's claim, in the shard
///   of the digest of the scoped key (not of the request: the same key sent for another pair
///   must be found); expires at the request's deadline plus the TTL.
/// - channel `T:events` (sharded pub/sub): wake-ups of the shard (`d:<id>` answered,
///   `q:<queue key>` work queued, `p` push work).
///
/// Outside the shards, each key with a tag of its own from a digest of its name:
/// - `{syft:s:<digest>}:schema:<app>`: hash {schema, owner}.
/// - `{syft:r:<digest>}:rl:<key>`: string, a rate-limit key's GCRA arrival time.
/// - `{syft}:layout`: string, the shard count the deployment was started with (set once).
/// - `{syft}:replicas`: hash, replica id to its last heartbeat (JSON); `{syft}:replicas:seen`:
///   sorted set, replica id by the store's time of that heartbeat. Both on the layout's slot;
///   replicas silent for ``AdminLimits/heartbeatTTL`` are removed whenever one is written or read.
struct RedisKeys: Sendable {
    let base: String
    let shards: [ShardKeys]
    var shardCount: Int { shards.count }

    /// `shardCount` must lie in ``ShardLayout/shardCounts`` (RedisStore refuses others with a
    /// message); the clamp only keeps ids' three hex digits and the tag search in bounds.
    init(base: String = "syft", shardCount: Int) {
        self.base = base
        let count = min(max(shardCount, ShardLayout.shardCounts.lowerBound), ShardLayout.shardCounts.upperBound)
        shards = (0..<count).map { ShardKeys(index: $0, tag: Self.tag(base: base, shard: $0, of: count)) }
    }

    /// The first `{base:k:j}` whose slot lies in shard k's share of the slots.
    static func tag(base: String, shard: Int, of count: Int) -> String {
        let low = shard * RedisHashSlot.count / count
        let high = (shard + 1) * RedisHashSlot.count / count
        var j = 0
        while true {
            let tag = "{\(base):\(shard):\(j)}"
            if (low..<high).contains(RedisHashSlot.slot(of: tag)) { return tag }
            j += 1
        }
    }

    func shard(of name: QueueName) -> Int {
        Int(Self.digest([name.appName, name.destination]) % UInt64(shardCount))
    }

    /// Nil for an id no `makeRequestID` of this layout made: unknown, never an error.
    func shard(ofID id: String) -> Int? {
        guard let value = RequestIDs.embeddedValue(of: id), value < shardCount else { return nil }
        return value
    }

    func makeRequestID(for name: QueueName) -> String {
        RequestIDs.random(embedding: shard(of: name))
    }

    func idempotencyShard(_ key: IdempotencyKey) -> Int {
        Int(Self.digest([key.scopedKey]) % UInt64(shardCount))
    }

    func idempotency(_ key: IdempotencyKey) -> String {
        shards[idempotencyShard(key)].tag + ":idem:" + key.scopedKey
    }

    func schema(_ app: String) -> String { "{\(base):s:\(Self.hex(Self.digest([app])))}:schema:\(app)" }
    func rateLimit(_ key: String) -> String { "{\(base):r:\(Self.hex(Self.digest([key])))}:rl:\(key)" }
    var layoutRecord: String { "{\(base)}:layout" }
    var replicas: String { "{\(base)}:replicas" }
    var replicasSeen: String { "{\(base)}:replicas:seen" }

    /// FNV-1a (64 bits) over the parts, each prefixed with its length: fixed forever, as the
    /// shard of every stored request depends on it.
    static func digest(_ parts: [String]) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        func feed(_ byte: UInt8) {
            hash ^= UInt64(byte)
            hash = hash &* 0x0000_0100_0000_01B3
        }
        for part in parts {
            for byte in "\(part.utf8.count):".utf8 { feed(byte) }
            for byte in part.utf8 { feed(byte) }
        }
        return hash
    }

    static func hex(_ value: UInt64) -> String {
        let text = String(value, radix: 16)
        return String(repeating: "0", count: 16 - text.count) + text
    }
}

/// One shard's keys. `scriptKeys` are KEYS[1...9] of every shard script, in the order
/// Scripts' prelude reads them.
struct ShardKeys: Sendable {
    let index: Int
    let tag: String
    let scriptKeys: [String]

    init(index: Int, tag: String) {
        self.index = index
        self.tag = tag
        scriptKeys = [
            tag + ":events", "rpc:" + tag + ":", tag + ":push", tag + ":deadlines", tag + ":leases", tag + ":queues",
            tag + ":queuewalk", tag + ":index", tag + ":failed",
        ]
    }

    var channel: String { scriptKeys[0] }
    var requestPrefix: String { scriptKeys[1] }
    var pushList: String { scriptKeys[2] }
    var deadlines: String { scriptKeys[3] }
    var leases: String { scriptKeys[4] }
    var queueSet: String { scriptKeys[5] }
    var queueWalk: String { scriptKeys[6] }
    var requestIndex: String { scriptKeys[7] }
    var failedIndex: String { scriptKeys[8] }
    func request(_ id: String) -> String { requestPrefix + id }
    func queue(_ name: QueueName) -> String { pairKey("q", name) }
    func endpoint(_ name: QueueName) -> String { pairKey("ep", name) }
    func consumer(_ name: QueueName) -> String { pairKey("consumer", name) }
    var endpointSet: String { tag + ":endpoints" }
    var consumerSet: String { tag + ":consumers" }
    var healthMap: String { tag + ":health" }
    /// A pair as a field or member of the shard's endpoint, consumer and health sets.
    static func pairMember(_ name: QueueName) -> String { "\(name.appName.utf8.count):\(name.appName):\(name.destination)" }
    static func pair(fromMember member: String) -> QueueName? {
        guard let colon = member.firstIndex(of: ":"), let length = Int(member[..<colon]) else { return nil }
        let rest = member.utf8[member.utf8.index(after: colon)...]
        guard rest.count > length else { return nil }
        let appEnd = rest.index(rest.startIndex, offsetBy: length)
        guard rest[appEnd] == UInt8(ascii: ":"), let app = String(rest[..<appEnd]), let destination = String(rest[rest.index(after: appEnd)...])
        else { return nil }
        return QueueName(appName: app, destination: destination)
    }
    /// Named after the group's first request, whose id is unique.
    func sharedParams(firstID: String) -> String { tag + ":params:" + firstID }

    private func pairKey(_ kind: String, _ name: QueueName) -> String {
        "\(tag):\(kind):\(name.appName.utf8.count):\(name.appName):\(name.destination)"
    }
}
