-- Returns the members of a set whose entries are still stored and unexpired; removes the others.
-- KEYS[1] set; ARGV[1] the current time in ms. Uses liveness.lua.
-- Members name entries outside KEYS (see pop-sets.lua).
local _, alive = prune_members(KEYS[1], redis.call('SMEMBERS', KEYS[1]), tonumber(ARGV[1]))
return alive
