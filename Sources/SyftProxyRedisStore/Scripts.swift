/// Lua scripts for every transition replicas could race on. Each runs atomically inside
/// Redis, reads time from Redis (one clock for all replicas) and publishes the wake-up its
/// change causes. KEYS[1] is always the namespace hash tag; all keys derive from it.
enum Scripts {
    static let prelude = #"""
    local ns = KEYS[1]
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
      if target == ns .. ':push' then
        redis.call('PUBLISH', ns .. ':events', 'p')
      else
        redis.call('PUBLISH', ns .. ':events', 'q:' .. target)
      end
    end
    local function finish(id, state, field, value, t)
      local k = rkey(id)
      redis.call('HSET', k, 'state', state, field, value, 'updated', fmt(t), 'completed', fmt(t))
      redis.call('HDEL', k, 'lease')
      redis.call('ZREM', ns .. ':leases', id)
      redis.call('ZREM', ns .. ':deadlines', id)
      redis.call('PUBLISH', ns .. ':events', 'd:' .. id)
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
      redis.call('HSET', k, 'state', 'processing', 'updated', fmt(t), 'lease', fmt(untilTime))
      redis.call('ZADD', ns .. ':leases', untilTime, id)
      return redis.call('HGETALL', k)
    end

    """#

    /// ARGV: ttl_ms, idempotency key or '', count, then per request 10 fields:
    /// id, app, func, dest, sender, params, headers, timeout, endpoint, traceparent.
    static let create = RedisScriptSource(prelude + #"""
    local ttl = tonumber(ARGV[1])
    local idem = ARGV[2]
    if idem ~= '' then
      local existing = redis.call('GET', ns .. ':idem:' .. idem)
      if existing and redis.call('EXISTS', rkey(existing)) == 1 then
        return {'dup', redis.call('HGETALL', rkey(existing))}
      end
    end
    local t = now()
    local n = tonumber(ARGV[3])
    for i = 0, n - 1 do
      local b = 4 + i * 10
      local id, app, dest = ARGV[b], ARGV[b + 1], ARGV[b + 3]
      local deadline = t + tonumber(ARGV[b + 7])
      local k = rkey(id)
      redis.call('HSET', k, 'id', id, 'app', app, 'func', ARGV[b + 2], 'dest', dest, 'sender', ARGV[b + 4],
        'params', ARGV[b + 5], 'headers', ARGV[b + 6], 'timeout', ARGV[b + 7], 'endpoint', ARGV[b + 8],
        'trace', ARGV[b + 9], 'state', 'pending', 'attempts', '0', 'created', fmt(t), 'updated', fmt(t),
        'deadline', fmt(deadline))
      redis.call('PEXPIRE', k, ttl)
      redis.call('ZADD', ns .. ':deadlines', deadline, id)
      route(id, app, dest, false)
    end
    if idem ~= '' then redis.call('SET', ns .. ':idem:' .. idem, ARGV[4], 'PX', ttl) end
    return {'ok', fmt(t)}
    """#)

    /// ARGV: id. The record (after failing it if overdue), or an empty array.
    static let read = RedisScriptSource(prelude + #"""
    local k = rkey(ARGV[1])
    if redis.call('EXISTS', k) == 0 then return {} end
    expireIfOverdue(ARGV[1], now())
    return redis.call('HGETALL', k)
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

    /// ARGV: max, lease seconds. Pairs {url, record}. A pair whose URL was removed while its
    /// request was queued goes back to pull delivery.
    static let leasePush = RedisScriptSource(prelude + #"""
    local max, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
    local t = now()
    local out = {}
    while #out < max do
      local id = redis.call('LPOP', ns .. ':push')
      if not id then break end
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
          redis.call('HDEL', k, 'lease')
          redis.call('ZREM', ns .. ':leases', id)
          route(id, pair[1], pair[2], true)
        end
      end
    end
    return out
    """#)

    /// ARGV: id, 'result' or 'error', payload. {'ok'|'final', record} or {'missing'}.
    static let answer = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = rkey(id)
    if redis.call('EXISTS', k) == 0 then return {'missing'} end
    local t = now()
    expireIfOverdue(id, t)
    local state = redis.call('HGET', k, 'state')
    if state == 'completed' or state == 'failed' then return {'final', redis.call('HGETALL', k)} end
    if ARGV[2] == 'result' then
      finish(id, 'completed', 'result', ARGV[3], t)
    else
      finish(id, 'failed', 'error', ARGV[3], t)
    end
    return {'ok', redis.call('HGETALL', k)}
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
          redis.call('HDEL', k, 'lease')
          route(id, st[3], st[4], true)
          redelivered = redelivered + 1
        end
      end
    end
    return {timedOut, redelivered, exhausted}
    """#)

    /// ARGV: id, lease seconds. 1 when the lease was extended.
    static let renew = RedisScriptSource(prelude + #"""
    local k = rkey(ARGV[1])
    if redis.call('HGET', k, 'state') ~= 'processing' then return 0 end
    local untilTime = now() + tonumber(ARGV[2])
    redis.call('HSET', k, 'lease', fmt(untilTime))
    redis.call('ZADD', ns .. ':leases', untilTime, ARGV[1])
    return 1
    """#)

    /// ARGV: id. Back to the front of its queue, the attempt not counted.
    static let release = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = rkey(id)
    local st = redis.call('HMGET', k, 'state', 'attempts', 'app', 'dest')
    if st[1] ~= 'processing' then return 0 end
    if tonumber(st[2]) > 0 then redis.call('HINCRBY', k, 'attempts', -1) end
    redis.call('HSET', k, 'state', 'pending', 'updated', fmt(now()))
    redis.call('HDEL', k, 'lease')
    redis.call('ZREM', ns .. ':leases', id)
    route(id, st[3], st[4], true)
    return 1
    """#)

    /// ARGV: id, delay seconds. 1 when the request stays leased for the delay, its attempt
    /// not counted; the sweep puts it back on its queue once that lease passes.
    static let deferDelivery = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = rkey(id)
    local st = redis.call('HMGET', k, 'state', 'attempts')
    if st[1] ~= 'processing' then return 0 end
    local t = now()
    local untilTime = t + tonumber(ARGV[2])
    if tonumber(st[2]) > 0 then redis.call('HINCRBY', k, 'attempts', -1) end
    redis.call('HSET', k, 'updated', fmt(t), 'lease', fmt(untilTime))
    redis.call('ZADD', ns .. ':leases', untilTime, id)
    return 1
    """#)

    /// ARGV: app, dest, url. Moves the pair's queued ids to the push list, order kept.
    static let registerEndpoint = RedisScriptSource(prelude + #"""
    redis.call('SET', epkey(ARGV[1], ARGV[2]), ARGV[3])
    local q = qkey(ARGV[1], ARGV[2])
    local moved = 0
    while true do
      local id = redis.call('LPOP', q)
      if not id then break end
      redis.call('RPUSH', ns .. ':push', id)
      moved = moved + 1
    end
    redis.call('SREM', ns .. ':queues', q)
    if moved > 0 then redis.call('PUBLISH', ns .. ':events', 'p') end
    return moved
    """#)

    /// ARGV: app, dest. 0 when no URL was registered; else moves the pair's push work back.
    static let removeEndpoint = RedisScriptSource(prelude + #"""
    if redis.call('DEL', epkey(ARGV[1], ARGV[2])) == 0 then return 0 end
    local q = qkey(ARGV[1], ARGV[2])
    local moved = 0
    for _, id in ipairs(redis.call('LRANGE', ns .. ':push', 0, -1)) do
      local pair = redis.call('HMGET', rkey(id), 'app', 'dest')
      if pair[1] == ARGV[1] and pair[2] == ARGV[2] then
        redis.call('LREM', ns .. ':push', 1, id)
        redis.call('RPUSH', q, id)
        moved = moved + 1
      end
    end
    redis.call('SADD', ns .. ':queues', q)
    redis.call('PUBLISH', ns .. ':events', 'q:' .. q)
    return 1
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
    /// A fixed window per key; refused requests consume nothing.
    static let rateLimit = RedisScriptSource(prelude + #"""
    local cost, limit, window = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
    local t = now()
    local current = math.floor(t / window)
    local k = ns .. ':rl:' .. ARGV[1] .. ':' .. current
    local used = tonumber(redis.call('GET', k) or '0')
    local reset = fmt((current + 1) * window - t)
    if used + cost > limit then return {0, limit - used, reset} end
    redis.call('INCRBY', k, cost)
    redis.call('PEXPIRE', k, math.ceil(window * 1000) + 1000)
    return {1, limit - used - cost, reset}
    """#)

    /// {pull queued, push queued, leased}; forgets pull queues that emptied.
    static let stats = RedisScriptSource(prelude + #"""
    local pull = 0
    for _, q in ipairs(redis.call('SMEMBERS', ns .. ':queues')) do
      local n = redis.call('LLEN', q)
      if n == 0 then redis.call('SREM', ns .. ':queues', q) end
      pull = pull + n
    end
    return {pull, redis.call('LLEN', ns .. ':push'), redis.call('ZCARD', ns .. ':leases')}
    """#)
}

/// A script's text; the store wraps each in the client's script type (which knows its SHA1).
struct RedisScriptSource: Sendable {
    let source: String
    init(_ source: String) { self.source = source }
}
