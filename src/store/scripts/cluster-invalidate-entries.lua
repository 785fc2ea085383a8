#!lua flags=allow-oom
-- Cluster; runs in the slot of the entries' keys (all of KEYS share it). Step 3 of invalidating
-- sets, and deleteEntries: stamps each entry's guard with the invalidation's sequence, so that a
-- store computed before it is refused, then invalidates the entry: deleted, or with ARGV[4] = '1'
-- a fresh entry with grace kept stale for its grace (entry-invalidation.lua). allow-oom: see
-- raise-guards.lua. Uses sequence.lua, liveness.lua, containers.lua and entry-invalidation.lua.
-- KEYS pairs: the entry's key (its hash, for a field), its guard
-- ARGV[1] the invalidation's sequence, ARGV[2] guard time to live in ms, ARGV[3] now in ms,
-- ARGV[4] whether grace is allowed, ARGV[5 ..] each entry's field, or '' for a key of its own
-- Returns entries invalidated.
local seq, ttl, now, allow_grace = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), ARGV[4] == '1'
local invalidated = 0
for i = 1, #KEYS, 2 do
  stamp_guard(KEYS[i + 1], seq, ttl)
  invalidated = invalidated + invalidate_entry(KEYS[i], ARGV[(i + 1) / 2 + 4], now, allow_grace)
end
return invalidated
