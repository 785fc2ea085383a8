-- Stores one entry and lists it in its dependency and tag sets, unless an invalidation raised one
-- of its guards after the computation began (then nothing is written and 0 is returned).
-- KEYS[1]                entry key (a hash when ARGV[1] is a field)
-- KEYS[2 .. 1+n]         sets that must list the entry (n = ARGV[5])
-- KEYS[2+n .. #KEYS-1]   guard keys: last invalidation sequence of the prefix, the entry, each set
-- KEYS[#KEYS]            the invalidation sequence
-- ARGV[1] hash field or '', ARGV[2] stored value, ARGV[3] ttl in ms (0: none),
-- ARGV[4] sequence read before computing, ARGV[5] n, ARGV[6] the entry's full name (set member),
-- ARGV[7] the current time in ms, ARGV[8] how many members of each container to check for dead
-- ones, ARGV[9] the size below which a container is not checked. Uses liveness.lua and
-- containers.lua.
local field, value, ttl, seq, n, member = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
local now, sample, min_size = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])

-- The guards and the sequence (KEYS[2+n .. #KEYS]) are read by MGET, in chunks: unpack() has a limit.
-- Refused when a guard was raised after the sequence the computation read, or when the sequence is
-- lower than that (or gone): it only grows, so Redis lost its data (a restart, a flush) and with
-- it the guards of invalidations made meanwhile.
local function refused()
  for first = 2 + n, #KEYS, 512 do
    local last = math.min(first + 511, #KEYS)
    local values = redis.call('MGET', unpack(KEYS, first, last))
    for i = 1, last - first + 1 do
      local stamp = values[i]
      if first + i - 1 == #KEYS then
        if tonumber(stamp or '0') < seq then
          return true
        end
      elseif stamp and tonumber(stamp) > seq then
        return true
      end
    end
  end
  return false
end

if refused() then
  return 0
end

store_envelope(KEYS[1], field, value, ttl, now, sample, min_size)

for i = 2, 1 + n do
  local size = redis.call('SCARD', KEYS[i])
  if worth_pruning(size, sample, min_size) then
    prune_members(KEYS[i], redis.call('SRANDMEMBER', KEYS[i], sample), now)
  end
  redis.call('SADD', KEYS[i], member)
  outlive(KEYS[i], size > 0, ttl)
end
return 1
