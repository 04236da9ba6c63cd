import SyftProxyCore

/// The operator console's scripts. None runs on the send/answer path; each is bounded by its
/// arguments.
extension Scripts {
    /// KEYS: the shard's 9, the index to page (the shard's request or failed index). ARGV:
    /// cursor entry or '' (newest), entries to look at, state, app, destination, sender ('' for
    /// any). {last entry looked at or '', entries looked at, {{entry, record}...}}: matching
    /// records newest first. Entries whose record expired are removed on the way.
    static let adminPage = RedisScriptSource(prelude + #"""
    local ik = KEYS[10]
    local top = '+'
    if ARGV[1] ~= '' then top = '(' .. ARGV[1] end
    local members = redis.call('ZREVRANGEBYLEX', ik, top, '-', 'LIMIT', 0, tonumber(ARGV[2]))
    local out, gone = {}, {}
    for _, m in ipairs(members) do
      local id = string.sub(m, \#(AdminCursor.timeWidth + 1))
      local f = redis.call('HMGET', rkey(id), 'state', 'app', 'dest', 'sender')
      if not f[1] then
        gone[#gone + 1] = m
      elseif (ARGV[3] == '' or f[1] == ARGV[3]) and (ARGV[4] == '' or f[2] == ARGV[4])
          and (ARGV[5] == '' or f[3] == ARGV[5]) and (ARGV[6] == '' or f[4] == ARGV[6]) then
        out[#out + 1] = {m, recordReply(id)}
      end
    end
    if #gone > 0 then redis.call('ZREM', ik, unpack(gone)) end
    return {members[#members] or '', #members, out}
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id, failure class, message. {'ok', record},
    /// {'final', record} (already completed or failed) or {'missing'}. The final wake-up goes
    /// out as for an answer, so a blocking caller returns at once.
    static let cancel = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    if redis.call('EXISTS', k) == 0 then return {'missing'} end
    local t = now()
    expireIfOverdue(id, t)
    local state = redis.call('HGET', k, 'state')
    if state == 'completed' or state == 'failed' then return {'final', recordReply(id)} end
    finish(id, 'failed', 'error', ARGV[3], t, ARGV[2])
    return {'ok', recordReply(id)}
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id. A failed request back to pending on its
    /// queue (or the push list), a fresh deadline from its timeout, no attempts counted, its
    /// dead letter removed; the record lives as a new request's would. {'ok', record, 1 when it
    /// went to push}, {'notfailed', record} or {'missing'}.
    static let retry = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'timeout', 'qk', 'ek', 'fmem', 'ttl', 'pref')
    if not st[1] then return {'missing'} end
    if st[1] ~= 'failed' then return {'notfailed', recordReply(id)} end
    local t = now()
    local timeout = tonumber(st[2])
    local deadline = t + timeout
    redis.call('HDEL', k, 'error', 'result', 'completed', 'fcls', 'fmem', 'lease', 'ltok')
    redis.call('HSET', k, 'state', 'pending', 'attempts', '0', 'updated', fmt(t), 'deadline', fmt(deadline))
    if st[5] then redis.call('ZREM', failk, st[5]) end
    local life = tonumber(st[6]) + math.ceil(timeout * 1000)
    if redis.call('PTTL', k) < life then redis.call('PEXPIRE', k, life) end
    if st[7] and redis.call('PTTL', st[7]) < life then redis.call('PEXPIRE', st[7], life) end
    redis.call('ZADD', dlk, deadline, id)
    event(k, t, 'retried', '')
    local pushed = route(id, st[3], st[4], false)
    return {'ok', recordReply(id), pushed and 1 or 0}
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id. Deletes a failed request's record and dead
    /// letter. {'ok', record}, {'notfailed', record} or {'missing'}.
    static let deleteFailed = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'fmem')
    if not st[1] then return {'missing'} end
    local r = recordReply(id)
    if st[1] ~= 'failed' then return {'notfailed', r} end
    if st[2] then redis.call('ZREM', failk, st[2]) end
    redis.call('DEL', k)
    return {'ok', r}
    """#)

    /// KEYS: the shard's 9. ARGV: most queues to list, ids to look at per queue for the oldest
    /// open request. {{queue key, depth, app, destination, oldest created or ''}...} for pull
    /// queues with ids, then {'push', depth, '', '', oldest created or ''} when the push list
    /// has ids.
    static let queues = RedisScriptSource(prelude + #"""
    local most, look = tonumber(ARGV[1]), tonumber(ARGV[2])
    local out = {}
    local function oldest(list)
      for _, id in ipairs(redis.call('LRANGE', list, 0, look - 1)) do
        local f = redis.call('HMGET', rkey(id), 'state', 'created', 'app', 'dest')
        if f[1] == 'pending' or f[1] == 'processing' then return f end
      end
      return nil
    end
    local qs
    if redis.call('SCARD', qset) <= most then qs = redis.call('SMEMBERS', qset)
    else qs = redis.call('SRANDMEMBER', qset, most) end
    for _, q in ipairs(qs) do
      local n = redis.call('LLEN', q)
      if n > 0 then
        local f = oldest(q)
        if f then out[#out + 1] = {q, n, f[3], f[4], f[2]} else out[#out + 1] = {q, n, '', '', ''} end
      end
    end
    local pn = redis.call('LLEN', pushk)
    if pn > 0 then
      local f = oldest(pushk)
      out[#out + 1] = {'push', pn, '', '', f and f[2] or ''}
    end
    return out
    """#)

    /// KEYS: the shard's 9, the pair's queue. ARGV: most to purge, message. Fails queued open
    /// requests of the pair as purged: first off its pull queue, then (the pair's work when it
    /// has a push URL) from the first ids of the shard's push list, where the failed ones are
    /// skipped when leased. {purged, ids left on the pull queue}.
    static let purge = RedisScriptSource(prelude + #"""
    local q = KEYS[10]
    local most = tonumber(ARGV[1])
    local t = now()
    local purged = 0
    while purged < most do
      local id = redis.call('LPOP', q)
      if not id then break end
      local state = redis.call('HGET', rkey(id), 'state')
      if state == 'pending' then
        finish(id, 'failed', 'error', ARGV[2], t, 'purged')
        purged = purged + 1
      end
    end
    if purged < most then
      for _, id in ipairs(redis.call('LRANGE', pushk, 0, most - 1)) do
        if purged >= most then break end
        local f = redis.call('HMGET', rkey(id), 'state', 'qk')
        if f[1] == 'pending' and f[2] == q then
          finish(id, 'failed', 'error', ARGV[2], t, 'purged')
          purged = purged + 1
        end
      end
    end
    return {purged, redis.call('LLEN', q)}
    """#)

    /// KEYS[1]: the replicas hash, KEYS[2]: their last-seen set. ARGV: seconds a replica is
    /// listed after its last heartbeat, then a replica id and its heartbeat JSON to store, or
    /// nothing to only list. Replicas silent for longer are removed.
    /// {{id, last seen, JSON}...}.
    static let heartbeat = RedisScriptSource(clock + #"""
    local t = now()
    local ttl = tonumber(ARGV[1])
    if ARGV[2] then
      redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
      redis.call('ZADD', KEYS[2], t, ARGV[2])
    end
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', t - ttl)) do
      redis.call('HDEL', KEYS[1], id)
      redis.call('ZREM', KEYS[2], id)
    end
    local out = {}
    for _, pair in ipairs(redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')) do out[#out + 1] = pair end
    local listed = {}
    for i = 1, #out, 2 do
      listed[#listed + 1] = {out[i], out[i + 1], redis.call('HGET', KEYS[1], out[i]) or ''}
    end
    return listed
    """#)

    /// KEYS: the shard's 9, its endpoint set, consumer set and health map. ARGV: most pairs
    /// to list, consumer window seconds. {{pair, url or '', consumer last seen or '', health
    /// JSON or ''}...}: registered endpoints first, then pairs only a pull consumer was seen
    /// for. Pairs whose endpoint was removed leave the set and the health map.
    static let endpoints = RedisScriptSource(prelude + #"""
    local eps, consumers, health = KEYS[10], KEYS[11], KEYS[12]
    local most = tonumber(ARGV[1])
    local t = now()
    redis.call('ZREMRANGEBYSCORE', consumers, '-inf', t - tonumber(ARGV[2]))
    local out, listed = {}, {}
    local scan = redis.call('HSCAN', eps, '0', 'COUNT', most)[2]
    for i = 1, #scan, 2 do
      local pair, ek = scan[i], scan[i + 1]
      local url = redis.call('GET', ek)
      if url then
        listed[pair] = true
        out[#out + 1] = {pair, url, redis.call('ZSCORE', consumers, pair) or '', redis.call('HGET', health, pair) or ''}
      else
        redis.call('HDEL', eps, pair)
        redis.call('HDEL', health, pair)
      end
    end
    local seen = redis.call('ZREVRANGEBYSCORE', consumers, '+inf', '-inf', 'WITHSCORES', 'LIMIT', 0, most)
    for i = 1, #seen, 2 do
      if not listed[seen[i]] then out[#out + 1] = {seen[i], '', seen[i + 1], ''} end
    end
    return out
    """#)

    /// KEYS: the shard's 9, its endpoint set and health map. ARGV: count, then per report:
    /// pair, last success or '', last error or '', error message, failures, failures since
    /// the last success. Merged as EndpointHealth.merging does; pairs without a registered
    /// endpoint are skipped.
    static let endpointHealth = RedisScriptSource(prelude + #"""
    local eps, health = KEYS[10], KEYS[11]
    local n = tonumber(ARGV[1])
    for i = 0, n - 1 do
      local b = 2 + i * 6
      local pair = ARGV[b]
      if redis.call('HEXISTS', eps, pair) == 1 then
        local raw = redis.call('HGET', health, pair)
        local h = {consecutive_failures = 0}
        if raw then h = cjson.decode(raw) end
        local success, failure = tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2])
        if success then
          if not h.last_success or success > h.last_success then h.last_success = success end
          h.consecutive_failures = tonumber(ARGV[b + 5])
        else
          h.consecutive_failures = h.consecutive_failures + tonumber(ARGV[b + 4])
        end
        if failure and (not h.last_error or failure >= h.last_error) then
          h.last_error = failure
          h.last_error_message = ARGV[b + 3]
        end
        redis.call('HSET', health, pair, cjson.encode(h))
      end
    end
    return n
    """#)
}
