-- Library, not a command (see liveness.lua; uses liveness.lua and containers.lua, which come
-- before it): what an invalidation does to one entry.

-- Invalidates the entry under `key` (field '') or in field `field` of the hash `key`. With
-- allow_grace, a fresh entry that has grace is kept, stale from now and servable for its grace;
-- every other entry is deleted. Returns 1 when there was an entry to invalidate, else 0. pcall: a
-- name now holding the other kind (a string for a field, a hash for a key) does not store it.
local function invalidate_entry(key, field, now, allow_grace)
  local value
  if field ~= '' then
    value = redis.pcall('HGET', key, field)
  else
    value = redis.pcall('GET', key)
  end
  local fresh_until, grace, bar = parse_envelope(value)
  if allow_grace and fresh_until and grace > 0 and (fresh_until == 0 or fresh_until > now) then
    local stale = string.format('%d+%d', now, grace) .. string.sub(value, bar)
    if field ~= '' then
      redis.call('HSET', key, field, stale)
      extend_expiry(key, grace)
    else
      redis.call('SET', key, stale, 'PX', grace)
    end
    return 1
  end
  if field ~= '' then
    return redis.pcall('HDEL', key, field) == 1 and 1 or 0
  end
  return redis.call('DEL', key)
end

