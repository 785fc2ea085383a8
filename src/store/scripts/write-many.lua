-- Stores or deletes plain entries (the instance cache's rows) in one step. A store is skipped when
-- the entry's guard or the prefix's was raised after the sequence the caller read, or when the
-- sequence went backwards (Redis lost its data, and the guards with it); a delete always happens.
-- Uses plain-entries.lua.
-- KEYS[1] the invalidation sequence, KEYS[2] the prefix-wide guard,
-- KEYS[3 ..] pairs: entry key, its guard
-- ARGV[1] sequence read before loading the rows,
-- ARGV[2 ..] pairs: value ('' to delete: a row's JSON is never empty), ttl in ms (0: none)
local seq = tonumber(ARGV[1])
local everything = redis.call('GET', KEYS[2])
local refuse_all = tonumber(redis.call('GET', KEYS[1]) or '0') < seq or (everything and tonumber(everything) > seq)
return write_plain(3, seq, refuse_all)
