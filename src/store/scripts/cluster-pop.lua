#!lua flags=allow-oom
-- Cluster; runs in the slot of the sets (all of KEYS share it). Step 2 of invalidating sets (see
-- docs/consistency.md): stamps each set's guard with the invalidation's sequence, so that a
-- registration computed before it is refused; then, set by set, moves members into the set's
-- popped set (SPOP + SADD) and returns members of the popped set: those moved now and any that an
-- attempt which failed midway left there. The caller invalidates their entries in their own slots
-- and only then removes them from the popped set, so a member stays listed until its entry is
-- invalidated. A member registered again meanwhile goes back into the set, not the popped set.
-- allow-oom: see raise-guards.lua. Uses sequence.lua, liveness.lua and containers.lua.
-- KEYS triples: a set, its guard, its popped set
-- ARGV[1] the invalidation's sequence, ARGV[2] guard time to live in ms, ARGV[3] members returned
-- at most in this call
-- Returns per set { 1 if it had a share of the budget, else 0, members... }: a share and no
-- member means the set and its popped set are empty.
local seq, ttl, budget = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
for i = 1, #KEYS, 3 do
  stamp_guard(KEYS[i + 1], seq, ttl)
end
local results = {}
for i = 1, #KEYS, 3 do
  local set, popped = KEYS[i], KEYS[i + 2]
  if budget <= 0 then
    results[#results + 1] = { 0 }
  else
    -- The popped set outlives the set's members, as the set did (-1: no expiry).
    local left = redis.call('PTTL', set)
    local moved = redis.call('SPOP', set, budget)
    if #moved > 0 then
      local existed = redis.call('EXISTS', popped) == 1
      for first = 1, #moved, 512 do
        redis.call('SADD', popped, unpack(moved, first, math.min(first + 511, #moved)))
      end
      outlive(popped, existed, left > 0 and left or 0)
    end
    local listed = redis.call('SRANDMEMBER', popped, budget)
    budget = budget - #listed
    local result = { 1 }
    for _, member in ipairs(listed) do
      result[#result + 1] = member
    end
    results[#results + 1] = result
  end
end
return results
