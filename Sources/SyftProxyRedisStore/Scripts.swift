import SyftProxyCore

/// Lua scripts for every transition replicas could race on. Each runs atomically inside
/// Redis, on one slot, reads time from Redis (one clock for all replicas) and publishes the
/// wake-up its change causes.
///
/// The key rule, which keeps every script on one slot of a Redis Cluster: scripts never build
/// a key name. RedisKeys builds every key and passes it in KEYS. A shard script's KEYS[1...9]
/// are its shard's channel, record-key prefix, push list, deadline set, lease set, queue set,
/// queue-walk hash, request index and failed index (``ShardKeys/scriptKeys``), then the
/// script's own keys (a record, a
/// pair's queue, endpoint, consumer). Where a script reaches records by ids it read from a list
/// or set (leases, the sweep, the trim) it cannot declare them beforehand: only there does it
/// form `prefix .. id`, from the declared prefix of its own shard. Each record stores its
/// pair's queue and endpoint key names (`qk`, `ek`), so re-routing a request never assembles
/// pair keys either. Scripts outside the shards (schema, rate limit, Idempotency-Key claim,
/// layout record) take their one key as KEYS[1].
enum Scripts {
    static let clock = #"""
    local function now()
      local t = redis.call('TIME')
      return tonumber(t[1]) + tonumber(t[2]) / 1000000
    end
    local function fmt(x) return string.format('%.6f', x) end

    """#

    static let prelude = clock + #"""
    local chan, rpre, pushk, dlk, lsk, qset, walk = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
    local idxk, failk = KEYS[8], KEYS[9]
    \#(WakeupEvent.luaPublishers)
    local function rkey(id) return rpre .. id end
    -- An admin index entry: fixed-width time, then the id (AdminCursor), so text order is time order.
    local function imem(t, id) return string.format('%017.6f', t) .. ':' .. id end
    -- Appends to the record's timeline (field tl, JSON [[time, kind, detail]...]), keeping the
    -- last \#(AdminLimits.timelineEvents) events: it lives and expires with the record.
    local function event(k, t, kind, detail)
      local raw = redis.call('HGET', k, 'tl')
      local list = {}
      if raw then list = cjson.decode(raw) end
      list[#list + 1] = {fmt(t), kind, detail or ''}
      while #list > \#(AdminLimits.timelineEvents) do table.remove(list, 1) end
      redis.call('HSET', k, 'tl', cjson.encode(list))
    end
    -- Queues an id on its pair's pull queue, or the shard's push list when the pair has a URL;
    -- true when it went to push.
    local function route(id, qk, ek, front)
      local target
      if redis.call('EXISTS', ek) == 1 then
        target = pushk
      else
        target = qk
        redis.call('SADD', qset, qk)
      end
      if front then redis.call('LPUSH', target, id) else redis.call('RPUSH', target, id) end
      if target == pushk then publishPushQueued() else publishQueued(qk) end
      return target == pushk
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
    -- An ended request's record lives its TTL from its end; one created with an
    -- Idempotency-Key never less than it already had (until its deadline plus the TTL), so it
    -- outlives its claim, which lives in another slot and cannot be reached from here. Shared
    -- params live as long as the longest-lived record that reads them.
    local function keepForTTL(k, failed)
      local f = redis.call('HMGET', k, 'ttl', 'idem', 'pref', 'fttl')
      local ttl = tonumber(f[1])
      -- A failed request is kept as a dead letter for PROXY_FAILED_TTL instead.
      if failed and tonumber(f[4]) then ttl = tonumber(f[4]) end
      if not ttl then return end
      if not f[2] or redis.call('PTTL', k) < ttl then redis.call('PEXPIRE', k, ttl) end
      if f[3] and redis.call('PTTL', f[3]) < ttl then redis.call('PEXPIRE', f[3], ttl) end
    end
    -- cls: a failure's FailureClass, which also files it in the failed index.
    local function finish(id, state, field, value, t, cls)
      local k = rkey(id)
      redis.call('HSET', k, 'state', state, field, value, 'updated', fmt(t), 'completed', fmt(t))
      redis.call('HDEL', k, 'lease', 'ltok')
      redis.call('ZREM', lsk, id)
      redis.call('ZREM', dlk, id)
      if state == 'failed' then
        local m = imem(t, id)
        redis.call('HSET', k, 'fcls', cls, 'fmem', m)
        redis.call('ZADD', failk, 0, m)
        event(k, t, 'failed', cls .. ': ' .. value)
      else
        event(k, t, 'completed', '')
      end
      keepForTTL(k, state == 'failed')
      publishFinal(id)
    end
    -- Fails an unanswered request whose deadline has passed; true when it did.
    local function expireIfOverdue(id, t)
      local st = redis.call('HMGET', rkey(id), 'state', 'deadline', 'timeout')
      if not st[1] or st[1] == 'completed' or st[1] == 'failed' then return false end
      if tonumber(st[2]) > t then return false end
      finish(id, 'failed', 'error', 'timed out after ' .. st[3] .. ' s without an answer from the app', t, 'timed_out')
      return true
    end
    -- Leases one queued id; nil when it was answered, expired or timed out while queued.
    local function leaseOne(id, t, lease, holder)
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
      redis.call('ZADD', lsk, untilTime, id)
      event(k, t, 'leased', holder .. ', attempt ' .. redis.call('HGET', k, 'attempts'))
      return recordReply(id)
    end

    """#

    /// KEYS: the shard's 9, its shared params key (used only when ARGV says shared), then per
    /// request its record, its pair's queue and its pair's endpoint. ARGV: ttl_ms, the claim's
    /// key name or '' (an Idempotency-Key's create step), '1' when the params are shared or '',
    /// shared params JSON, count, then per request 10 fields: id, app, func, dest, sender,
    /// params ('' when shared), headers, timeout, endpoint, traceparent; last, the failed TTL
    /// in ms (PROXY_FAILED_TTL); then the timeline's name for a consumer on the creating
    /// replica that takes a single request at once, or '' (RPCStore's local fast path), and
    /// the lease seconds.
    /// {'ok', created, ids routed to push, 1 when leased at once} or {'dup', record} (the
    /// claimed id exists). A request is leased at once only when its pair has no endpoint and
    /// nothing queued, so it never overtakes queued work: lease token 1, attempt 1, on the
    /// shard's lease set like any lease (its expiry redelivers it), and nothing published.
    static let create = RedisScriptSource(prelude + #"""
    local ttl = tonumber(ARGV[1])
    local idem, shared = ARGV[2], ARGV[3]
    if idem ~= '' and redis.call('EXISTS', KEYS[11]) == 1 then return {'dup', recordReply(ARGV[6])} end
    local t = now()
    local n = tonumber(ARGV[5])
    local longest = 0
    local pushed = 0
    local fttl = ARGV[6 + n * 10]
    local direct = ARGV[7 + n * 10]
    local leased = 0
    local created = cjson.encode({{fmt(t), 'created', ''}})
    local function add(list, name, value) list[#list + 1] = name; list[#list + 1] = value end
    for i = 0, n - 1 do
      local b = 6 + i * 10
      local kb = 11 + i * 3
      local id, app, dest = ARGV[b], ARGV[b + 1], ARGV[b + 3]
      local k, qk, ek = KEYS[kb], KEYS[kb + 1], KEYS[kb + 2]
      local timeout = tonumber(ARGV[b + 7])
      local deadline = t + timeout
      local leaseNow = n == 1 and direct ~= '' and redis.call('EXISTS', ek) == 0 and redis.call('LLEN', qk) == 0
      local fields = {'id', id, 'app', app, 'func', ARGV[b + 2], 'dest', dest, 'sender', ARGV[b + 4],
        'headers', ARGV[b + 6], 'timeout', ARGV[b + 7], 'endpoint', ARGV[b + 8],
        'trace', ARGV[b + 9], 'created', fmt(t), 'updated', fmt(t),
        'deadline', fmt(deadline), 'ttl', ARGV[1], 'qk', qk, 'ek', ek, 'fttl', fttl}
      if shared ~= '' then add(fields, 'pref', KEYS[10]) else add(fields, 'params', ARGV[b + 5]) end
      if idem ~= '' then add(fields, 'idem', idem) end
      local untilTime
      if leaseNow then
        untilTime = t + tonumber(ARGV[8 + n * 10])
        add(fields, 'state', 'processing')
        add(fields, 'attempts', '1')
        add(fields, 'lseq', '1')
        add(fields, 'ltok', '1')
        add(fields, 'lease', fmt(untilTime))
        add(fields, 'tl', cjson.encode({{fmt(t), 'created', ''}, {fmt(t), 'leased', direct .. ', attempt 1'}}))
      else
        add(fields, 'state', 'pending')
        add(fields, 'attempts', '0')
        add(fields, 'tl', created)
      end
      redis.call('HSET', k, unpack(fields))
      redis.call('ZADD', idxk, 0, imem(t, id))
      -- Open until its deadline, then kept for the TTL: answerable for as long as it is open.
      local life = ttl + math.ceil(timeout * 1000)
      if life > longest then longest = life end
      redis.call('PEXPIRE', k, life)
      redis.call('ZADD', dlk, deadline, id)
      if leaseNow then
        redis.call('ZADD', lsk, untilTime, id)
        leased = 1
      elseif route(id, qk, ek, false) then
        pushed = pushed + 1
      end
    end
    if shared ~= '' then redis.call('SET', KEYS[10], ARGV[4], 'PX', longest) end
    return {'ok', fmt(t), pushed, leased}
    """#)

    /// KEYS[1]: the Idempotency-Key's claim. ARGV: proposed id, request digest, lifetime ms
    /// (the request's timeout plus the TTL). {id, digest}: the claim as it now stands, the
    /// proposed one when the key was new.
    static let claimIdempotencyKey = RedisScriptSource(#"""
    local seen = redis.call('HMGET', KEYS[1], 'id', 'digest')
    if seen[1] then return {seen[1], seen[2] or ''} end
    redis.call('HSET', KEYS[1], 'id', ARGV[1], 'digest', ARGV[2])
    redis.call('PEXPIRE', KEYS[1], ARGV[3])
    return {ARGV[1], ARGV[2]}
    """#)

    /// KEYS[1]: the layout record. ARGV: this replica's shard count. The count the deployment
    /// runs with: the first replica's, written once.
    static let layout = RedisScriptSource(#"""
    redis.call('SET', KEYS[1], ARGV[1], 'NX')
    return redis.call('GET', KEYS[1])
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id. The record (after failing it if overdue), or
    /// an empty array.
    static let read = RedisScriptSource(prelude + #"""
    local k = KEYS[10]
    if redis.call('EXISTS', k) == 0 then return {} end
    expireIfOverdue(ARGV[1], now())
    return recordReply(ARGV[1])
    """#)

    /// KEYS: the shard's 9, the pair's queue, the pair's consumer marker, the shard's consumer
    /// set. ARGV: max, lease seconds, consumer window seconds, the timeline's name for the
    /// holder, the pair's member in the consumer set. Records leased, oldest first; the pair is marked as
    /// served by a pull consumer for the window.
    static let leaseInbox = RedisScriptSource(prelude + #"""
    local q = KEYS[10]
    local max, lease = tonumber(ARGV[1]), tonumber(ARGV[2])
    local t = now()
    local out = {}
    redis.call('SET', KEYS[11], '1', 'EX', ARGV[3])
    redis.call('ZADD', KEYS[12], t, ARGV[5])
    while #out < max do
      local id = redis.call('LPOP', q)
      if not id then break end
      local r = leaseOne(id, t, lease, ARGV[4])
      if r then out[#out + 1] = r end
    end
    return out
    """#)

    /// KEYS: the shard's 9. ARGV: max, lease seconds, most ids to take off the list, the
    /// timeline's name for the holder.
    /// {ids left on the list, {{url, record}...}}. A pair whose URL was removed while its
    /// request was queued goes back to pull delivery, at the back of the pair's queue so the
    /// ids handed back keep their order; the limit bounds one call however many there are (the
    /// store calls again while the list is not empty).
    static let leasePush = RedisScriptSource(prelude + #"""
    local max, lease, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    local t = now()
    local out = {}
    local taken = 0
    while #out < max and taken < limit do
      local id = redis.call('LPOP', pushk)
      if not id then break end
      taken = taken + 1
      local r = leaseOne(id, t, lease, ARGV[4])
      if r then
        local k = rkey(id)
        local pair = redis.call('HMGET', k, 'qk', 'ek')
        local url = redis.call('GET', pair[2])
        if url then
          out[#out + 1] = {url, r}
        else
          redis.call('HINCRBY', k, 'attempts', -1)
          redis.call('HSET', k, 'state', 'pending')
          redis.call('HDEL', k, 'lease', 'ltok')
          redis.call('ZREM', lsk, id)
          route(id, pair[1], pair[2], false)
        end
      end
    end
    return {redis.call('LLEN', pushk), out}
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id, 'result', 'error' or 'undeliverable', payload,
    /// lease token or '' (not a lease holder). {'ok'|'final'|'lost', record} or {'missing'}.
    static let answer = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    if redis.call('EXISTS', k) == 0 then return {'missing'} end
    local t = now()
    expireIfOverdue(id, t)
    local st = redis.call('HMGET', k, 'state', 'ltok')
    local state = st[1]
    if state == 'completed' or state == 'failed' then return {'final', recordReply(id)} end
    if ARGV[4] ~= '' and (state ~= 'processing' or st[2] ~= ARGV[4]) then return {'lost', recordReply(id)} end
    if ARGV[2] == 'result' then
      finish(id, 'completed', 'result', ARGV[3], t)
    elseif ARGV[2] == 'undeliverable' then
      finish(id, 'failed', 'error', ARGV[3], t, 'undeliverable')
    else
      finish(id, 'failed', 'error', ARGV[3], t, 'app_error')
    end
    return {'ok', recordReply(id)}
    """#)

    /// The sweep's queue step, `trimStep(queues per step, ids per step, ids per queue)` -> {ids
    /// trimmed, queues forgotten, 1 when this step finished a walk}.
    ///
    /// One step of a walk over the shard's set of pull queues, shared by every replica (the SSCAN
    /// cursor lives in `queuewalk`), so each queue is visited once per walk however many
    /// replicas sweep. At each queue visited, ids of requests that ended (record gone, or
    /// completed or failed) are removed from the head of the list, order kept; a queue left
    /// empty leaves the set. The walk adds up the lengths it sees and publishes the sum as the
    /// pull total when it wraps around. Work per step: at most `ids per step` record reads plus
    /// a few commands per queue SSCAN returns.
    static let queueTrimStep = #"""
    local function trimStep(queuesPerStep, idBudget, perQueue)
      local queues = qset
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
    end

    """#

    /// KEYS: the shard's 9. ARGV: max attempts, lease seconds as text, batch size, request TTL
    /// seconds, index entries to check, then ``queueTrimStep``'s three budgets. {timed out,
    /// redelivered, exhausted, index entries trimmed, queue ids trimmed, queues forgotten, walk
    /// finished}. One script per shard and tick: the queue step runs after the sweep, so
    /// requests it just failed are trimmed in the same tick. The admin indexes are walked from their oldest entries older than the TTL
    /// (younger ones cannot have expired), a bounded step per tick with the walk's place kept in
    /// the queue-walk hash; entries whose record is gone are removed.
    static let sweep = RedisScriptSource(prelude + queueTrimStep + #"""
    local maxAttempts, leaseText, batch = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
    local t = now()
    local timedOut, redelivered, exhausted = 0, 0, 0
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', dlk, '-inf', t, 'LIMIT', 0, batch)) do
      if expireIfOverdue(id, t) then timedOut = timedOut + 1 end
      redis.call('ZREM', dlk, id)
    end
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', lsk, '-inf', t, 'LIMIT', 0, batch)) do
      redis.call('ZREM', lsk, id)
      local k = rkey(id)
      local st = redis.call('HMGET', k, 'state', 'attempts', 'qk', 'ek')
      if st[1] == 'processing' then
        if tonumber(st[2]) >= maxAttempts then
          event(k, t, 'lease_expired', 'attempt ' .. st[2])
          finish(id, 'failed', 'error', 'not answered after ' .. st[2] .. ' deliveries (each lease of ' .. leaseText ..
            ' s expired); the app may be down or crashing on this request', t, 'attempts_exhausted')
          exhausted = exhausted + 1
        else
          redis.call('HSET', k, 'state', 'pending', 'updated', fmt(t))
          redis.call('HDEL', k, 'lease', 'ltok')
          event(k, t, 'lease_expired', 'attempt ' .. st[2] .. ', queued again')
          route(id, st[3], st[4], true)
          redelivered = redelivered + 1
        end
      end
    end
    local cutoff = '(' .. string.format('%017.6f', t - tonumber(ARGV[4]))
    local budget = tonumber(ARGV[5])
    local trimmed = 0
    for _, pair in ipairs({{idxk, 'iwalk'}, {failk, 'fwalk'}}) do
      local from = redis.call('HGET', walk, pair[2]) or '-'
      if from ~= '-' then from = '(' .. from end
      local members = redis.call('ZRANGEBYLEX', pair[1], from, cutoff, 'LIMIT', 0, budget)
      local gone = {}
      for _, m in ipairs(members) do
        if redis.call('EXISTS', rkey(string.sub(m, \#(AdminCursor.timeWidth + 1)))) == 0 then gone[#gone + 1] = m end
      end
      if #gone > 0 then redis.call('ZREM', pair[1], unpack(gone)) end
      trimmed = trimmed + #gone
      if #members < budget then redis.call('HSET', walk, pair[2], '-') else redis.call('HSET', walk, pair[2], members[#members]) end
    end
    local q = trimStep(tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8]))
    return {timedOut, redelivered, exhausted, trimmed, q[1], q[2], q[3]}
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id, lease seconds, lease token. 1 renewed, 0 lost
    /// (open, leased by another or not at all), -1 ended (final or expired).
    static let renew = RedisScriptSource(prelude + #"""
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'ltok')
    if not st[1] or st[1] == 'completed' or st[1] == 'failed' then return -1 end
    if st[1] ~= 'processing' or st[2] ~= ARGV[3] then return 0 end
    local untilTime = now() + tonumber(ARGV[2])
    redis.call('HSET', k, 'lease', fmt(untilTime))
    redis.call('ZADD', lsk, untilTime, ARGV[1])
    return 1
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id, lease token. Back to the front of its queue,
    /// the attempt not counted; 0 when the token is not the current lease's.
    static let release = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'attempts', 'qk', 'ek', 'ltok')
    if st[1] ~= 'processing' or st[5] ~= ARGV[2] then return 0 end
    if tonumber(st[2]) > 0 then redis.call('HINCRBY', k, 'attempts', -1) end
    local t = now()
    redis.call('HSET', k, 'state', 'pending', 'updated', fmt(t))
    redis.call('HDEL', k, 'lease', 'ltok')
    redis.call('ZREM', lsk, id)
    event(k, t, 'released', '')
    route(id, st[3], st[4], true)
    return 1
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id, delay seconds, lease token. 1 when the
    /// request stays leased for the delay, its attempt not counted; the sweep puts it back on
    /// its queue once that lease passes. 0 when the token is not the current lease's.
    static let deferDelivery = RedisScriptSource(prelude + #"""
    local id = ARGV[1]
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'attempts', 'ltok')
    if st[1] ~= 'processing' or st[3] ~= ARGV[3] then return 0 end
    local t = now()
    local untilTime = t + tonumber(ARGV[2])
    if tonumber(st[2]) > 0 then redis.call('HINCRBY', k, 'attempts', -1) end
    redis.call('HSET', k, 'updated', fmt(t), 'lease', fmt(untilTime))
    redis.call('ZADD', lsk, untilTime, id)
    event(k, t, 'deferred', ARGV[2] .. ' s')
    return 1
    """#)

    /// KEYS: the shard's 9, the record. ARGV: id, SyftBox sender, lease token or ''. 1 when the
    /// request, open (and leased with that token, when one is given), is now marked as written
    /// through SyftBox as that sender (field `sbx`); 0, and nothing changed, otherwise.
    static let markSyftBox = RedisScriptSource(prelude + #"""
    local k = KEYS[10]
    local st = redis.call('HMGET', k, 'state', 'ltok', 'deadline')
    if not st[1] or st[1] == 'completed' or st[1] == 'failed' then return 0 end
    local t = now()
    if tonumber(st[3]) <= t then return 0 end
    if ARGV[3] ~= '' and (st[1] ~= 'processing' or st[2] ~= ARGV[3]) then return 0 end
    redis.call('HSET', k, 'sbx', ARGV[2])
    event(k, t, 'syftbox', ARGV[2])
    return 1
    """#)

    /// KEYS: the shard's 9, the pair's endpoint, the pair's queue, the shard's endpoint set.
    /// ARGV: url, 'nx' to register only where the pair has no endpoint yet, the pair's member
    /// in the endpoint set. Moves the pair's queued ids to the shard's push
    /// list, order kept; the count moved, or -1 when 'nx' found an endpoint (left as it was).
    /// Removal is a plain DEL of the endpoint: the pair's ids stay on the push list, so it
    /// costs the same however long that list is, and ``leasePush`` hands each one back to pull
    /// delivery when it reaches it.
    static let registerEndpoint = RedisScriptSource(prelude + #"""
    if ARGV[2] == 'nx' then
      if not redis.call('SET', KEYS[10], ARGV[1], 'NX') then return -1 end
    else
      redis.call('SET', KEYS[10], ARGV[1])
    end
    redis.call('HSET', KEYS[12], ARGV[3], KEYS[10])
    local q = KEYS[11]
    local moved = 0
    while true do
      local id = redis.call('LPOP', q)
      if not id then break end
      redis.call('RPUSH', pushk, id)
      moved = moved + 1
    end
    redis.call('SREM', qset, q)
    if moved > 0 then publishPushQueued() end
    return moved
    """#)

    /// KEYS[1]: the app's schema. ARGV: schema JSON, owner or ''. {'ok'} or {'owned', owner}.
    static let publishSchema = RedisScriptSource(#"""
    local k = KEYS[1]
    local owner = redis.call('HGET', k, 'owner')
    if owner and owner ~= '' and owner ~= ARGV[2] then return {'owned', owner} end
    redis.call('HSET', k, 'schema', ARGV[1])
    if not owner or owner == '' then redis.call('HSET', k, 'owner', ARGV[2]) end
    return {'ok'}
    """#)

    /// KEYS[1]: the rate-limit key. ARGV: cost, limit, window seconds. {allowed 0|1, remaining, reset after (text)}.
    /// GCRA, as the memory store computes it: the key holds its theoretical arrival time
    /// (TAT); each request of cost 1 moves it on by window / limit, and a request is allowed
    /// while the TAT stays at most one window ahead of now. A full budget can be spent at once,
    /// then it refills evenly, so no window boundary lets a second budget through. Reset
    /// after: until the budget is full when allowed; until this request would fit when
    /// refused. Refused requests consume nothing.
    static let rateLimit = RedisScriptSource(clock + #"""
    local cost, limit, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
    if limit <= 0 or window <= 0 then return {0, 0, fmt(window)} end
    local t = now()
    local k = KEYS[1]
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

    /// KEYS: the shard's 9. ARGV: most queues to count one by one. The shard's {pull queued,
    /// push queued, leased}. With more
    /// queues than that, the pull count is the total the last complete walk of the sweep's queue step (``queueTrimStep``)
    /// found, so the work here never grows with the number of queues.
    static let stats = RedisScriptSource(prelude + #"""
    local queues = qset
    local pull = 0
    if redis.call('SCARD', queues) <= tonumber(ARGV[1]) then
      for _, q in ipairs(redis.call('SMEMBERS', queues)) do pull = pull + redis.call('LLEN', q) end
    else
      pull = tonumber(redis.call('HGET', walk, 'total') or '0')
    end
    return {pull, redis.call('LLEN', pushk), redis.call('ZCARD', lsk)}
    """#)


}

/// A script's text; the store wraps each in the client's script type (which knows its SHA1).
struct RedisScriptSource: Sendable {
    let source: String
    init(_ source: String) { self.source = source }
}
