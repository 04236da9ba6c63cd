import SyftProxyCore
import SyftProxyRedis

extension Scripts {
    /// KEYS: the shard's 9, the record. ARGV: id, lease token, max attempts, failure text. The
    /// lease ends now as if it had expired, the attempt counted: back to the front of its queue
    /// (1), or failed when its attempts are used up or its deadline passed (2); 0 when the
    /// token is not the current lease's.
    static let dropLease = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'attempts', 'qk', 'ek', 'ltok')
    if st[1] ~= 'processing' or st[5] ~= ARGV[2] then return 0 end
    local t = now()
    if expireIfOverdue(id, t) then return 2 end
    if tonumber(st[2]) >= tonumber(ARGV[3]) then
      finish(id, 'failed', 'error', (string.gsub(ARGV[4], '{attempts}', st[2])), t, 'attempts_exhausted')
      return 2
    end
    redis.call('HSET', k, 'state', 'pending', 'updated', fmt(t))
    redis.call('HDEL', k, 'lease', 'ltok')
    redis.call('ZREM', lsk, id)
    event(k, t, 'dropped', 'the consumer went away; attempt ' .. st[2] .. ' counted')
    route(id, st[3], st[4], true)
    return 1
    """#)
}

extension RedisStore {
    private static let dropLeaseScript = RedisScript(Scripts.dropLease.source)

    public func dropLease(id: String, token: String) async throws -> Bool {
        // The attempt count is only known inside the script; it fills the text in.
        guard let shard = try await shard(ofID: id) else { return false }
        let failure = FailureMessages.consumerDropped(attemptsText: "{attempts}")
        return try await evaluate(Self.dropLeaseScript, shard, [shard.request(id)], [id, token, String(settings.maximumAttempts), failure]).int != 0
    }
}
