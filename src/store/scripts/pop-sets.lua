-- Removes up to ARGV[1] members from each set and invalidates the entries they name. SPOP removes
-- exactly what it returns, so a member added meanwhile stays for the next call.
-- With ARGV[3] = '1', a fresh entry that has grace is kept, stale from ARGV[2] (now, ms) and
-- servable for its grace; every other entry is deleted. Uses liveness.lua.
-- Returns { entries invalidated, members left in the sets }.
-- KEYS[1 ..] sets; members name entries (`<key>` or `<hash>><field>`) outside KEYS, so on a
-- Cluster the sets and their entries must share a slot.
local batch, now, allow_grace = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3] == '1'

-- A hash must outlive the grace of a field made stale.
local function outlive(key, ms)
  local left = redis.call('PTTL', key)
  if left ~= -1 and left < ms then
    redis.call('PEXPIRE', key, ms)
  end
end

local function invalidate(member)
  local at = string.find(member, '>', 1, true)
  local hash, field = nil, nil
  local value
  if at then
    hash, field = string.sub(member, 1, at - 1), string.sub(member, at + 1)
    value = redis.pcall('HGET', hash, field)
  else
    value = redis.pcall('GET', member)
  end
  local fresh_until, grace, bar = parse_envelope(value)
  if allow_grace and fresh_until and grace > 0 and (fresh_until == 0 or fresh_until > now) then
    local stale = string.format('%d+%d', now, grace) .. string.sub(value, bar)
    if hash then
      redis.call('HSET', hash, field, stale)
      outlive(hash, grace)
    else
      redis.call('SET', member, stale, 'PX', grace)
    end
    return 1
  end
  if hash then
    return redis.call('HDEL', hash, field)
  end
  return redis.call('DEL', member)
end

local invalidated, left = 0, 0
for i = 1, #KEYS do
  for _, member in ipairs(redis.call('SPOP', KEYS[i], batch)) do
    invalidated = invalidated + invalidate(member)
  end
  left = left + redis.call('SCARD', KEYS[i])
end
return { invalidated, left }
