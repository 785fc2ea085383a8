#!lua
-- Cluster; runs in the slot of the sets (all of KEYS share it). The first step of a write, before
-- its value is stored (register before store, never the reverse): lists the entry in each set and
-- makes the set outlive it, unless one of the sets' guards was raised after the sequence the
-- computation read; then nothing is done. A member's liveness lives in another slot, so lazy
-- pruning cannot happen here: each set big enough to be worth it (containers.lua) answers a few
-- random members, which the caller checks in their slots and prunes when dead.
-- Uses liveness.lua and containers.lua.
-- KEYS pairs: a set, its guard
-- ARGV[1] sequence read before computing, ARGV[2] the entry's full name (the member),
-- ARGV[3] the entry's lifetime in ms (0: none), ARGV[4] how many members of each set to answer
-- for pruning, ARGV[5] the size below which a set answers none
-- Returns { 0 } when refused, else { 1, per set { members to check } }.
local seq, member, ttl = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local sample, min_size = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 2, #KEYS, 2 do
  local stamp = redis.call('GET', KEYS[i])
  if stamp and tonumber(stamp) > seq then
    return { 0 }
  end
end
local answer = { 1 }
for i = 1, #KEYS, 2 do
  local size = redis.call('SCARD', KEYS[i])
  answer[#answer + 1] = worth_pruning(size, sample, min_size) and redis.call('SRANDMEMBER', KEYS[i], sample) or {}
  redis.call('SADD', KEYS[i], member)
  outlive(KEYS[i], size > 0, ttl)
end
return answer
