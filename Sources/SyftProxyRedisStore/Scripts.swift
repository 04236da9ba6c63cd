/// Lua scripts for every transition replicas could race on. Each runs atomically inside
/// Redis, reads time from Redis (one clock for all replicas) and publishes the wake-up its
/// change causes. KEYS[1] is always the namespace hash tag; all keys derive from it.
enum Scripts {
    static let prelude = #"""
    local ns = KEYS[1]
    \#(WakeupEvent.luaPublishers)
    local function now()
      local t = redis.call('TIME')
      return tonumber(t[1]) + tonumber(t[2]) / 1000000
    end
    local function fmt(x) return string.format('%.6f', x) end
    local function rkey(id) return 'rpc:' .. ns .. ':' .. id end
    local function qkey(app, dest) return ns .. ':q:' .. string.len(app) .. ':' .. app .. ':' .. dest end
    local function epkey(app, dest) return ns .. ':ep:' .. string.len(app) .. ':' .. app .. ':' .. dest end
    -- Queues an id for its app and destination: the push list when the pair has a URL.
    local function route(id, app, dest, front)
      local target
      if redis.call('EXISTS', epkey(app, dest)) == 1 then
        target = ns .. ':push'
      else
        target = qkey(app, dest)
        redis.call('SADD', ns .. ':queues', target)
      end
      if front then redis.call('LPUSH', target, id) else redis.call('RPUSH', target, id) end
      if target == ns .. ':push' then publishPushQueued() else publishQueued(target) end
    end
    -- A record as HGETALL gives it, with the params of a broadcast read from their shared key.
    local function recordReply(id)
      local r = redis.call('HGETALL', rkey(id))
      for i = 1, #r, 2 do
        if r[i] == 'pref' then
          local shared = redis.call('GET', r[i + 1])
          if shared then
            r[#r + 1] = 'params'
            r[#r + 1] = shared
          end
          break
        end
      end
      return r
    end
    -- An ended request's record and Idempotency-Key live their TTL from its end; shared
    -- params live as long as the longest-lived record that reads them.
    local function keepForTTL(k)
      local f = redis.call('HMGET', k, 'ttl', 'idem', 'pref')
      local ttl = tonumber(f[1])
      if not ttl then return end
      redis.call('PEXPIRE', k, ttl)
      if f[2] then redis.call('PEXPIRE', f[2], ttl) end
      if f[3] and redis.call('PTTL', f[3]) < ttl then redis.call('PEXPIRE', f[3], ttl) end
    end
    local function finish(id, state, field, value, t)
      local k = rkey(id)
      redis.call('HSET', k, 'state', state, field, value, 'updated', fmt(t), 'completed', fmt(t))
      redis.call('HDEL', k, 'lease', 'ltok')
      redis.call('ZREM', ns .. ':leases', id)
      redis.call('ZREM', ns .. ':deadlines', id)
      keepForTTL(k)
      publishFinal(id)
    end
    -- Fails an unanswered request whose deadline has passed; true when it did.
    local function expireIfOverdue(id, t)
      local st = redis.call('HMGET', rkey(id), 'state', 'deadline', 'timeout')
      if not st[1] or st[1] == 'completed' or st[1] == 'failed' then return false end
      if tonumber(st[2]) > t then return false end
      finish(id, 'failed', 'error', 'timed out after ' .. st[3] .. ' s without an answer from the app', t)
      return true
    end
    -- Leases one queued id; nil when it was answered, expired or timed out while queued.
    local function leaseOne(id, t, lease)
      local k = rkey(id)
      local st = redis.call('HMGET', k, 'state', 'deadline')
      if st[1] ~= 'pending' then return nil end
      if tonumber(st[2]) <= t then
        expireIfOverdue(id, t)
        return nil
      end
      local untilTime = t + lease
      redis.call('HINCRBY', k, 'attempts', 1)
      -- lseq counts the request's leases; the current one's number fences its holder.
      local token = redis.call('HINCRBY', k, 'lseq', 1)
      redis.call('HSET', k, 'state', 'processing', 'updated', fmt(t), 'lease', fmt(untilTime), 'ltok', token)
      redis.call('ZADD', ns .. ':leases', untilTime, id)
      return recordReply(id)
    end

    """#

    /// ARGV: ttl_ms, idempotency key name or '', request digest, shared params key or '',
    /// shared params JSON, count, then per request 10 fields: id, app, func, dest, sender,
    /// params ('' when shared), headers, timeout, endpoint, traceparent.
    /// {'ok', created}, {'dup', record} or {'reused'} (the key was used for another request).
    static let create = RedisScriptSource(prelude + #"""
    local ttl = tonumber(ARGV[1])
    local idem, digest, pref = ARGV[2], ARGV[3], ARGV[4]
    if idem ~= '' then
      local seen = redis.call('HMGET', idem, 'id', 'digest')
      if seen[1] and redis.call('EXISTS', rkey(seen[1])) == 1 then
        if seen[2] ~= digest then return {'reused'} end
        return {'dup', recordReply(seen[1])}
      end
    end
    local t = now()
    local n = tonumber(ARGV[6])
    local longest = 0
    for i = 0, n - 1 do
      local b = 7 + i * 10
      local id, app, dest = ARGV[b], ARGV[b + 1], ARGV[b + 3]
      local timeout = tonumber(ARGV[b + 7])
      local deadline = t + timeout
      local k = rkey(id)
      redis.call('HSET', k, 'id', id, 'app', app, 'func', ARGV[b + 2], 'dest', dest, 'sender', ARGV[b + 4],
        'headers', ARGV[b + 6], 'timeout', ARGV[b + 7], 'endpoint', ARGV[b + 8],
        'trace', ARGV[b + 9], 'state', 'pending', 'attempts', '0', 'created', fmt(t), 'updated', fmt(t),
        'deadline', fmt(deadline), 'ttl', ARGV[1])
      if pref ~= '' then redis.call('HSET', k, 'pref', pref) else redis.call('HSET', k, 'params', ARGV[b + 5]) end
      if idem ~= '' then redis.call('HSET', k, 'idem', idem) end
      -- Open until its deadline, then kept for the TTL: answerable for as long as it is open.
      local life = ttl + math.ceil(timeout * 1000)
      if life > longest then longest = life end
      redis.call('PEXPIRE', k, life)
      redis.call('ZADD', ns .. ':deadlines', deadline, id)
      route(id, app, dest, false)
    end
    if pref ~= '' then redis.call('SET', pref, ARGV[5], 'PX', longest) end
    if idem ~= '' then
      redis.call('HSET', idem, 'id', ARGV[7], 'digest', digest)
      redis.call('PEXPIRE', idem, longest)
    end
    return {'ok', fmt(t)}
    """#)

    /// ARGV: id. The record (after failing it if overdue), or an empty array.
    static let read = RedisScriptSource(prelude + #"""
    local k = rkey(ARGV[1])
    if redis.call('EXISTS', k) == 0 then return {} end
    expireIfOverdue(ARGV[1], now())
    return recordReply(ARGV[1])
    """#)

    /// ARGV: app, dest, max, lease seconds, consumer window seconds. Records leased, oldest
    /// first; the pair is marked as served by a pull consumer for the window.
    static let leaseInbox = RedisScriptSource(prelude + #"""
    local q = qkey(ARGV[1], ARGV[2])
    local max, lease = tonumber(ARGV[3]), tonumber(ARGV[4])
    local t = now()
    local out = {}
    redis.call('SET', ns .. ':consumer:' .. string.sub(q, string.len(ns .. ':q:') + 1), '1', 'EX', ARGV[5])
    while #out < max do
      local id = redis.call('LPOP', q)
      if not id then break end
      local r = leaseOne(id, t, lease)
      if r then out[#out + 1] = r end
    end
    return out
    """#)

    /// ARGV: max, lease seconds, most ids to take off the list. Pairs {url, record}. A pair
    /// whose URL was removed while its request was queued goes back to pull delivery, at the
    /// back of the pair's queue so the ids handed back keep their order; the limit bounds one
    /// call however many there are (the forwarder calls again while the list is not empty).
    static let leasePush = RedisScriptSource(prelude + #"""
    local max, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    local t = now()
    local out = {}
    local taken = 0
    while #out < max and taken < limit do
      local id = redis.call('LPOP', ns .. ':push')
      if not id then break end
      taken = taken + 1
      local r = leaseOne(id, t, lease)
      if r then
        local k = rkey(id)
        local pair = redis.call('HMGET', k, 'app', 'dest')
        local url = redis.call('GET', epkey(pair[1], pair[2]))
        if url then
          out[#out + 1] = {url, r}
        else
          redis.call('HINCRBY', k, 'attempts', -1)
          redis.call('HSET', k, 'state', 'pending')
          redis.call('HDEL', k, 'lease', 'ltok')
          redis.call('ZREM', ns .. ':leases', id)
          route(id, pair[1], pair[2], false)
        end
      end
    end
    return out
    """#)

    /// ARGV: id, 'result' or 'error', payload, lease token or '' (not a lease holder).
    /// {'ok'|'final'|'lost', record} or {'missing'}.
    static let answer = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = rkey(id)
    if redis.call('EXISTS', k) == 0 then return {'missing'} end
    local t = now()
    expireIfOverdue(id, t)
    local st = redis.call('HMGET', k, 'state', 'ltok')
    local state = st[1]
    if state == 'completed' or state == 'failed' then return {'final', recordReply(id)} end
    if ARGV[4] ~= '' and (state ~= 'processing' or st[2] ~= ARGV[4]) then return {'lost', recordReply(id)} end
    if ARGV[2] == 'result' then
      finish(id, 'completed', 'result', ARGV[3], t)
    else
      finish(id, 'failed', 'error', ARGV[3], t)
    end
    return {'ok', recordReply(id)}
    """#)

    /// ARGV: max attempts, lease seconds as text, batch size. {timed out, redelivered, exhausted}.
    static let sweep = RedisScriptSource(prelude + #"""
    local maxAttempts, leaseText, batch = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
    local t = now()
    local timedOut, redelivered, exhausted = 0, 0, 0
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', ns .. ':deadlines', '-inf', t, 'LIMIT', 0, batch)) do
      if expireIfOverdue(id, t) then timedOut = timedOut + 1 end
      redis.call('ZREM', ns .. ':deadlines', id)
    end
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', ns .. ':leases', '-inf', t, 'LIMIT', 0, batch)) do
      redis.call('ZREM', ns .. ':leases', id)
      local k = rkey(id)
      local st = redis.call('HMGET', k, 'state', 'attempts', 'app', 'dest')
      if st[1] == 'processing' then
        if tonumber(st[2]) >= maxAttempts then
          finish(id, 'failed', 'error', 'not answered after ' .. st[2] .. ' deliveries (each lease of ' .. leaseText ..
            ' s expired); the app may be down or crashing on this request', t)
          exhausted = exhausted + 1
        else
          redis.call('HSET', k, 'state', 'pending', 'updated', fmt(t))
          redis.call('HDEL', k, 'lease', 'ltok')
          route(id, st[3], st[4], true)
          redelivered = redelivered + 1
        end
      end
    end
    return {timedOut, redelivered, exhausted}
    """#)

    /// ARGV: id, lease seconds, lease token. 1 renewed, 0 lost (open, leased by another or
    /// not at all), -1 ended (final or expired).
    static let renew = RedisScriptSource(prelude + #"""
    local k = rkey(ARGV[1])
    local st = redis.call('HMGET', k, 'state', 'ltok')
    if not st[1] or st[1] == 'completed' or st[1] == 'failed' then return -1 end
    if st[1] ~= 'processing' or st[2] ~= ARGV[3] then return 0 end
    local untilTime = now() + tonumber(ARGV[2])
    redis.call('HSET', k, 'lease', fmt(untilTime))
    redis.call('ZADD', ns .. ':leases', untilTime, ARGV[1])
    return 1
    """#)

    /// ARGV: id, lease token. Back to the front of its queue, the attempt not counted; 0 when
    /// the token is not the current lease's.
    static let release = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = rkey(id)
    local st = redis.call('HMGET', k, 'state', 'attempts', 'app', 'dest', 'ltok')
    if st[1] ~= 'processing' or st[5] ~= ARGV[2] then return 0 end
    if tonumber(st[2]) > 0 then redis.call('HINCRBY', k, 'attempts', -1) end
    redis.call('HSET', k, 'state', 'pending', 'updated', fmt(now()))
    redis.call('HDEL', k, 'lease', 'ltok')
    redis.call('ZREM', ns .. ':leases', id)
    route(id, st[3], st[4], true)
    return 1
    """#)

    /// ARGV: id, delay seconds, lease token. 1 when the request stays leased for the delay, its
    /// attempt not counted; the sweep puts it back on its queue once that lease passes. 0 when
    /// the token is not the current lease's.
    static let deferDelivery = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = rkey(id)
    local st = redis.call('HMGET', k, 'state', 'attempts', 'ltok')
    if st[1] ~= 'processing' or st[3] ~= ARGV[3] then return 0 end
    local t = now()
    local untilTime = t + tonumber(ARGV[2])
    if tonumber(st[2]) > 0 then redis.call('HINCRBY', k, 'attempts', -1) end
    redis.call('HSET', k, 'updated', fmt(t), 'lease', fmt(untilTime))
    redis.call('ZADD', ns .. ':leases', untilTime, id)
    return 1
    """#)

    /// ARGV: id, SyftBox sender, lease token or ''. 1 when the request, open (and leased with
    /// that token, when one is given), is now marked as written through SyftBox as that sender
    /// (field `sbx`); 0, and nothing changed, otherwise.
    static let markSyftBox = RedisScriptSource(prelude + #"""
    local k = rkey(ARGV[1])
    local st = redis.call('HMGET', k, 'state', 'ltok', 'deadline')
    if not st[1] or st[1] == 'completed' or st[1] == 'failed' then return 0 end
    if tonumber(st[3]) <= now() then return 0 end
    if ARGV[3] ~= '' and (st[1] ~= 'processing' or st[2] ~= ARGV[3]) then return 0 end
    redis.call('HSET', k, 'sbx', ARGV[2])
    return 1
    """#)

    /// ARGV: app, dest, url, 'nx' to register only where the pair has no endpoint yet. Moves
    /// the pair's queued ids to the push list, order kept; the count moved, or -1 when 'nx'
    /// found an endpoint (left as it was).
    static let registerEndpoint = RedisScriptSource(prelude + #"""
    if ARGV[4] == 'nx' then
      if not redis.call('SET', epkey(ARGV[1], ARGV[2]), ARGV[3], 'NX') then return -1 end
    else
      redis.call('SET', epkey(ARGV[1], ARGV[2]), ARGV[3])
    end
    local q = qkey(ARGV[1], ARGV[2])
    local moved = 0
    while true do
      local id = redis.call('LPOP', q)
      if not id then break end
      redis.call('RPUSH', ns .. ':push', id)
      moved = moved + 1
    end
    redis.call('SREM', ns .. ':queues', q)
    if moved > 0 then publishPushQueued() end
    return moved
    """#)

    /// ARGV: app, dest. 1 when a URL was removed, else 0. The pair's ids stay on the push list,
    /// so removal costs the same however long that list is: ``leasePush`` hands each one back
    /// to pull delivery when it reaches it.
    static let removeEndpoint = RedisScriptSource(prelude + #"""
    return redis.call('DEL', epkey(ARGV[1], ARGV[2]))
    """#)

    /// ARGV: app, schema JSON, owner or ''. {'ok'} or {'owned', owner}.
    static let publishSchema = RedisScriptSource(prelude + #"""
    local k = ns .. ':schema:' .. ARGV[1]
    local owner = redis.call('HGET', k, 'owner')
    if owner and owner ~= '' and owner ~= ARGV[3] then return {'owned', owner} end
    redis.call('HSET', k, 'schema', ARGV[2])
    if not owner or owner == '' then redis.call('HSET', k, 'owner', ARGV[3]) end
    return {'ok'}
    """#)

    /// ARGV: key, cost, limit, window seconds. {allowed 0|1, remaining, reset after (text)}.
    /// GCRA, as the memory store computes it: the key holds its theoretical arrival time
    /// (TAT); each request of cost 1 moves it on by window / limit, and a request is allowed
    /// while the TAT stays at most one window ahead of now. A full budget can be spent at once,
    /// then it refills evenly, so no window boundary lets a second budget through. Reset
    /// after: until the budget is full when allowed; until this request would fit when
    /// refused. Refused requests consume nothing.
    static let rateLimit = RedisScriptSource(prelude + #"""
    local cost, limit, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
    if limit <= 0 or window <= 0 then return {0, 0, fmt(window)} end
    local t = now()
    local k = ns .. ':rl:' .. ARGV[1]
    local interval = window / limit
    local slack = 0.000001
    local tat = tonumber(redis.call('GET', k) or '0') or 0
    if tat < t then tat = t end
    local function remaining(at)
      local n = math.floor((t + window - at) / interval + slack)
      if n < 0 then n = 0 end
      if n > limit then n = limit end
      return n
    end
    local after = tat + cost * interval
    if after - t > window + slack then
      local wait = after - window - t
      if cost > limit then wait = tat - t end
      if wait < 0 then wait = 0 end
      return {0, remaining(tat), fmt(wait)}
    end
    redis.call('SET', k, string.format('%.17g', after), 'PX', math.ceil((after - t) * 1000) + 1000)
    return {1, remaining(after), fmt(after - t)}
    """#)

    /// ARGV: most queues to count one by one. {pull queued, push queued, leased}. With more
    /// queues than that, the pull count is the total the last complete walk of ``trimQueues``
    /// found, so the work here never grows with the number of queues.
    static let stats = RedisScriptSource(prelude + #"""
    local queues = ns .. ':queues'
    local pull = 0
    if redis.call('SCARD', queues) <= tonumber(ARGV[1]) then
      for _, q in ipairs(redis.call('SMEMBERS', queues)) do pull = pull + redis.call('LLEN', q) end
    else
      pull = tonumber(redis.call('HGET', ns .. ':queuewalk', 'total') or '0')
    end
    return {pull, redis.call('LLEN', ns .. ':push'), redis.call('ZCARD', ns .. ':leases')}
    """#)

    /// ARGV: queues per step, ids per step, ids per queue. {ids trimmed, queues forgotten,
    /// 1 when this step finished a walk}.
    ///
    /// One step of a walk over the set of pull queues, shared by every replica (the SSCAN
    /// cursor lives in `queuewalk`), so each queue is visited once per walk however many
    /// replicas sweep. At each queue visited, ids of requests that ended (record gone, or
    /// completed or failed) are removed from the head of the list, order kept; a queue left
    /// empty leaves the set. The walk adds up the lengths it sees and publishes the sum as the
    /// pull total when it wraps around. Work per step: at most `ids per step` record reads plus
    /// a few commands per queue SSCAN returns.
    static let trimQueues = RedisScriptSource(prelude + #"""
    local queuesPerStep, idBudget, perQueue = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    local walk = ns .. ':queuewalk'
    local queues = ns .. ':queues'
    local cursor = redis.call('HGET', walk, 'cursor') or '0'
    local counted = tonumber(redis.call('HGET', walk, 'counted') or '0')
    local scan = redis.call('SSCAN', queues, cursor, 'COUNT', queuesPerStep)
    local trimmed, forgotten = 0, 0
    for _, q in ipairs(scan[2]) do
      local n = redis.call('LLEN', q)
      if n > 0 and idBudget > 0 then
        local ids = redis.call('LRANGE', q, 0, math.min(perQueue, idBudget) - 1)
        idBudget = idBudget - #ids
        local live = {}
        for _, id in ipairs(ids) do
          local state = redis.call('HGET', rkey(id), 'state')
          if state and state ~= 'completed' and state ~= 'failed' then live[#live + 1] = id end
        end
        if #live < #ids then
          redis.call('LTRIM', q, #ids, -1)
          for i = #live, 1, -1 do redis.call('LPUSH', q, live[i]) end
          trimmed = trimmed + #ids - #live
          n = n - (#ids - #live)
        end
      end
      if n == 0 then
        redis.call('SREM', queues, q)
        forgotten = forgotten + 1
      else
        counted = counted + n
      end
    end
    if scan[1] == '0' then
      redis.call('HSET', walk, 'cursor', '0', 'counted', '0', 'total', counted)
      return {trimmed, forgotten, 1}
    end
    redis.call('HSET', walk, 'cursor', scan[1], 'counted', counted)
    return {trimmed, forgotten, 0}
    """#)
}

/// A script's text; the store wraps each in the client's script type (which knows its SHA1).
struct RedisScriptSource: Sendable {
    let source: String
    init(_ source: String) { self.source = source }
}
