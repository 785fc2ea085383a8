-- One step of garbage collection on a dependency or tag set: the members of one SSCAN page whose
-- entries are gone or expired are removed (Redis deletes the set when its last member goes).
-- KEYS[1] set; ARGV[1] the current time in ms, ARGV[2] SSCAN cursor, ARGV[3] SSCAN COUNT.
-- Returns { next cursor, members removed }. Uses liveness.lua; members name entries outside KEYS.
local page = redis.call('SSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
local removed = prune_members(KEYS[1], page[2], tonumber(ARGV[1]))
return { page[1], removed }
