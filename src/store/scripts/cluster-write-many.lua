#!lua
-- Cluster; runs in one slot (all of KEYS share it). The part of writeMany in that slot: stores or
-- deletes plain entries; a store is skipped when the entry's guard or the slot guard was raised
-- after the sequence the caller read, or the slot guard is absent (the shard lost its data); a
-- delete always happens. Uses plain-entries.lua.
-- KEYS[1] the slot guard, KEYS[2 ..] pairs: entry key, its guard
-- ARGV[1] sequence read before loading the rows,
-- ARGV[2 ..] pairs: value ('' to delete: a row's JSON is never empty), ttl in ms (0: none)
-- Returns { stored or deleted, 1 when the slot guard is absent, else 0 }.
local seq = tonumber(ARGV[1])
local stamp = redis.call('GET', KEYS[1])
local refuse_all = not stamp or tonumber(stamp) > seq
return { write_plain(2, seq, refuse_all), stamp and 0 or 1 }
