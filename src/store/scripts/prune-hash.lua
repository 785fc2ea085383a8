-- One step of garbage collection on a hash of entries: the fields of one HSCAN page whose
-- envelopes are past their deadline are deleted, fields without one left alone (Redis deletes the
-- hash when its last field goes).
-- KEYS[1] hash; ARGV[1] the current time in ms, ARGV[2] HSCAN cursor, ARGV[3] HSCAN COUNT.
-- Returns { next cursor, fields removed }. Uses liveness.lua.
local page = redis.call('HSCAN', KEYS[1], ARGV[2], 'COUNT', ARGV[3])
local removed = prune_fields(KEYS[1], page[2], tonumber(ARGV[1]))
return { page[1], removed }
