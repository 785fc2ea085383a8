-- Library, not a command (see liveness.lua, which comes before it): storing an envelope, and the
-- expiry of the containers (hashes and sets) that hold entries.

-- A container must live at least as long as its longest-lived member (ttl in ms, 0 for none). One
-- that did not exist has no expiry yet.
local function outlive(key, existed, ttl)
  if not existed then
    if ttl > 0 then
      redis.call('PEXPIRE', key, ttl)
    end
    return
  end
  if ttl == 0 then
    redis.call('PERSIST', key)
    return
  end
  local left = redis.call('PTTL', key)
  if left ~= -1 and left < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- Extends a container's expiry to at least ms, never shortening it nor giving one to a container without.
local function extend_expiry(key, ms)
  local left = redis.call('PTTL', key)
  if left ~= -1 and left < ms then
    redis.call('PEXPIRE', key, ms)
  end
end

-- Lazy pruning (see LAZY_PRUNE_SAMPLE and LAZY_PRUNE_MIN_SIZE in store.ts): a few random members
-- of each container a write adds to are checked, and the dead ones removed, before the new member
-- goes in. Its size also tells whether it exists: Redis keeps no empty hash or set.
local function worth_pruning(size, sample, min_size)
  return sample > 0 and size >= min_size
end

-- Stores an envelope under its own key (field '') or as a field of a hash, which first loses a few
-- dead fields and then outlives the new one.
local function store_envelope(key, field, value, ttl, now, sample, min_size)
  if field == '' then
    if ttl > 0 then
      redis.call('SET', key, value, 'PX', ttl)
    else
      redis.call('SET', key, value)
    end
    return
  end
  local size = redis.call('HLEN', key)
  if worth_pruning(size, sample, min_size) then
    prune_fields(key, redis.call('HRANDFIELD', key, sample, 'WITHVALUES'), now)
  end
  redis.call('HSET', key, field, value)
  outlive(key, size > 0, ttl)
end

