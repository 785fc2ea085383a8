#!lua
-- Cluster; runs in the slot of the entry's key (its hash, for a field). The second step of a
-- write, once every registration passed: stores the envelope unless the entry's guard or the slot
-- guard was raised after the sequence the computation read (0), or the slot guard is absent (-1:
-- this shard lost its data, or was never set up, and with it the guards of invalidations made
-- meanwhile; the caller raises the sequence and sets the slot guard again). Uses liveness.lua and
-- containers.lua.
-- KEYS[1] entry key (a hash when ARGV[1] is a field), KEYS[2] its guard, KEYS[3] the slot guard
-- ARGV[1] hash field or '', ARGV[2] stored value, ARGV[3] lifetime in ms (0: none),
-- ARGV[4] sequence read before computing, ARGV[5] the current time in ms, ARGV[6] how many fields
-- of the hash to check for dead ones, ARGV[7] the size below which a hash is not checked
-- Returns 1 when stored, 0 when refused, -1 when the slot guard is absent.
local seq = tonumber(ARGV[4])
local guards = redis.call('MGET', KEYS[2], KEYS[3])
if not guards[2] then
  return -1
end
if tonumber(guards[2]) > seq or (guards[1] and tonumber(guards[1]) > seq) then
  return 0
end
store_envelope(KEYS[1], ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]))
return 1
