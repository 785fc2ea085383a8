#!lua flags=allow-oom
-- One step of invalidating dependency or tag sets. For each set in turn: stamps its guard with the
-- invalidation's sequence, so that a write computed before it is refused, then pops members and
-- invalidates the entries they name, until ARGV[3] members were popped in this call; the caller
-- sends the sets not yet emptied in the next step. SPOP removes exactly what it returns, so a
-- member added meanwhile stays for the next step. allow-oom: see raise-guards.lua.
-- With ARGV[5] = '1', a fresh entry that has grace is kept, stale from ARGV[4] (now, ms) and
-- servable for its grace; every other entry is deleted. Uses sequence.lua, liveness.lua,
-- containers.lua and entry-invalidation.lua.
-- KEYS[1] the sequence; KEYS[2 ..] pairs: a set, its guard
-- ARGV[1] the invalidation's sequence, or 0 to raise it now (its first step), ARGV[2] guard time
-- to live in ms, ARGV[3] members popped at most, ARGV[4] now, ARGV[5] whether grace is allowed
-- Returns { the sequence, entries invalidated, sets emptied, counted from the first }.
-- Members name entries (`<key>` or `<hash>><field>`) outside KEYS: standalone Redis only (a
-- Cluster invalidates with cluster-pop.lua and cluster-invalidate-entries.lua, one slot each).
local seq = step_sequence(KEYS[1], ARGV[1])
local ttl, budget, now, allow_grace = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), ARGV[5] == '1'

local function invalidate(member)
  local at = string.find(member, '>', 1, true)
  if at then
    return invalidate_entry(string.sub(member, 1, at - 1), string.sub(member, at + 1), now, allow_grace)
  end
  return invalidate_entry(member, '', now, allow_grace)
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
