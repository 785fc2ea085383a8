#!lua flags=allow-oom
-- One step of invalidating dependency or tag sets. For each set in turn: stamps its guard with the
-- invalidation's sequence, so that a write computed before it is refused, then pops members and
-- invalidates the entries they name, until ARGV[3] members were popped in this call; the caller
-- sends the sets not yet emptied in the next step. SPOP removes exactly what it returns, so a
-- member added meanwhile stays for the next step. allow-oom: see raise-guards.lua.
-- With ARGV[5] = '1', a fresh entry that has grace is kept, stale from ARGV[4] (now, ms) and
-- servable for its grace; every other entry is deleted. Uses sequence.lua and liveness.lua.
-- KEYS[1] the sequence; KEYS[2 ..] pairs: a set, its guard
-- ARGV[1] the invalidation's sequence, or 0 to raise it now (its first step), ARGV[2] guard time
-- to live in ms, ARGV[3] members popped at most, ARGV[4] now, ARGV[5] whether grace is allowed
-- Returns { the sequence, entries invalidated, sets emptied, counted from the first }.
-- Members name entries (`<key>` or `<hash>><field>`) outside KEYS, so on a Cluster the sets and
-- their entries must share a slot.
local seq = step_sequence(KEYS[1], ARGV[1])
local ttl, budget, now, allow_grace = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'

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
    return redis.pcall('HDEL', hash, field) == 1 and 1 or 0
  end
  return redis.call('DEL', member)
end

local invalidated, popped, emptied = 0, 0, 0
for i = 2, #KEYS, 2 do
  if popped >= budget then
    break
  end
  stamp_guard(KEYS[i + 1], seq, ttl)
  local members = redis.call('SPOP', KEYS[i], budget - popped)
  for _, member in ipairs(members) do
    invalidated = invalidated + invalidate(member)
  end
  popped = popped + #members
  if redis.call('SCARD', KEYS[i]) > 0 then
    break
  end
  emptied = emptied + 1
end
return { seq, invalidated, emptied }
