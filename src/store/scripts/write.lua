-- Stores one entry and lists it in its dependency and tag sets, unless an invalidation raised one
-- of its guards after the computation began (then nothing is written and 0 is returned).
-- KEYS[1]                entry key (a hash when ARGV[1] is a field)
-- KEYS[2 .. 1+n]         sets that must list the entry (n = ARGV[5])
-- KEYS[2+n .. #KEYS-1]   guard keys: last invalidation sequence of the prefix, the entry, each set
-- KEYS[#KEYS]            the invalidation sequence
-- ARGV[1] hash field or '', ARGV[2] stored value, ARGV[3] ttl in ms (0: none),
-- ARGV[4] sequence read before computing, ARGV[5] n, ARGV[6] the entry's full name (set member),
-- ARGV[7] the current time in ms, ARGV[8] how many members of each container to check for dead
-- ones, ARGV[9] the size below which a container is not checked. Uses liveness.lua.
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

-- A container (hash or set) must live at least as long as its longest-lived member. One that did
-- not exist has no expiry yet.
local function outlive(key, existed)
  if not existed then
    if ttl > 0 then
      redis.call('PEXPIRE', key, ttl)
    end
    return
  end
  if ttl == 0 then
    redis.call('PERSIST', key)
    return
  end
  local left = redis.call('PTTL', key)
  if left ~= -1 and left < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

-- Lazy pruning (see LAZY_PRUNE_SAMPLE and LAZY_PRUNE_MIN_SIZE in store.ts): a few random members
-- of each container this write adds to are checked, and the dead ones removed, before the new
-- member goes in. Its size also tells whether it exists: Redis keeps no empty hash or set.
local function worth_pruning(size)
  return sample > 0 and size >= min_size
end

if field == '' then
  if ttl > 0 then
    redis.call('SET', KEYS[1], value, 'PX', ttl)
  else
    redis.call('SET', KEYS[1], value)
  end
else
  local size = redis.call('HLEN', KEYS[1])
  if worth_pruning(size) then
    prune_fields(KEYS[1], redis.call('HRANDFIELD', KEYS[1], sample, 'WITHVALUES'), now)
  end
  redis.call('HSET', KEYS[1], field, value)
  outlive(KEYS[1], size > 0)
end

for i = 2, 1 + n do
  local size = redis.call('SCARD', KEYS[i])
  if worth_pruning(size) then
    prune_members(KEYS[i], redis.call('SRANDMEMBER', KEYS[i], sample), now)
  end
  redis.call('SADD', KEYS[i], member)
  outlive(KEYS[i], size > 0)
end
return 1
