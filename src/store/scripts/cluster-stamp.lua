#!lua flags=allow-oom
-- Cluster; runs in one slot (all of KEYS share it). Stamps guards with an invalidation's sequence,
-- only ever raising them: the slot guards, by pattern invalidation (kept: ttl 0). allow-oom: see
-- raise-guards.lua. Uses sequence.lua.
-- KEYS the guards; ARGV[1] the invalidation's sequence, ARGV[2] guard time to live in ms (0 keeps)
for i = 1, #KEYS do
  stamp_guard(KEYS[i], tonumber(ARGV[1]), ARGV[2])
end
return #KEYS
