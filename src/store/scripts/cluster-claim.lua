#!lua flags=allow-oom
-- Cluster; runs in the slot of the entries (all of KEYS share it). The part of claimMany in one
-- slot: stamps each plain entry's guard with the claim's sequence, so that fills which began
-- before it are refused from now on, then reads the entries. allow-oom: see raise-guards.lua.
-- Uses sequence.lua.
-- KEYS pairs: entry key, its guard
-- ARGV[1] the claim's sequence, ARGV[2] guard time to live in ms
-- Returns the values, nil for an absent one (or one of another type).
local seq, ttl = tonumber(ARGV[1]), ARGV[2]
local values = {}
for i = 1, #KEYS, 2 do
  stamp_guard(KEYS[i + 1], seq, ttl)
  local value = redis.pcall('GET', KEYS[i])
  values[#values + 1] = type(value) == 'string' and value or false
end
return values
