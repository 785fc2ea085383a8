#!lua flags=allow-oom
-- Cluster; runs in the slot of the entries' keys (all of KEYS share it). Tells which entries are
-- live (liveness.lua). When pruning (ARGV[1] > 0), the members were already moved from their set
-- into its popped set: the guard of each dead entry is stamped with the pruning's sequence, so a
-- store of it computed before is refused and the member can be dropped (see docs/consistency.md).
-- allow-oom: see raise-guards.lua. Uses sequence.lua and liveness.lua.
-- KEYS pairs: the entry's key (its hash, for a field), its guard
-- ARGV[1] the pruning's sequence, or 0 to only look, ARGV[2] guard time to live in ms,
-- ARGV[3] now in ms, ARGV[4 ..] each entry's field, or '' for a key of its own
-- Returns per entry 1 when live, else 0.
local seq, ttl, now = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local live = {}
for i = 1, #KEYS, 2 do
  if is_live_entry(KEYS[i], ARGV[(i + 1) / 2 + 3], now) then
    live[#live + 1] = 1
  else
    live[#live + 1] = 0
    if seq > 0 then
      stamp_guard(KEYS[i + 1], seq, ttl)
    end
  end
end
return live
