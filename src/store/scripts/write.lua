-- Stores one entry and lists it in its dependency and tag sets, unless an invalidation raised one
-- of its guards after the computation began (then nothing is written and 0 is returned).
-- KEYS[1]                entry key (a hash when ARGV[1] is a field)
-- KEYS[2 .. 1+n]         sets that must list the entry (n = ARGV[5])
-- KEYS[2+n .. #KEYS]     guard keys: last invalidation sequence of the prefix, the entry, each set
-- ARGV[1] hash field or '', ARGV[2] stored value, ARGV[3] ttl in ms (0: none),
-- ARGV[4] sequence read before computing, ARGV[5] n, ARGV[6] the entry's full name (set member)
local field, value, ttl, seq, n, member =
  ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]

for i = 2 + n, #KEYS do
  local raised = redis.call('GET', KEYS[i])
  if raised and tonumber(raised) > seq then
    return 0
  end
end

-- A container (hash or set) must live at least as long as its longest-lived member.
local function outlive(key, existed)
  if ttl == 0 then
    redis.call('PERSIST', key)
    return
  end
  local left = redis.call('PTTL', key)
  if left == -1 and existed then
    return -- already kept without expiry for a member that has none
  end
  if left < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end

if field == '' then
  if ttl > 0 then
    redis.call('SET', KEYS[1], value, 'PX', ttl)
  else
    redis.call('SET', KEYS[1], value)
  end
else
  local existed = redis.call('EXISTS', KEYS[1]) == 1
  redis.call('HSET', KEYS[1], field, value)
  outlive(KEYS[1], existed)
end

for i = 2, 1 + n do
  local existed = redis.call('EXISTS', KEYS[i]) == 1
  redis.call('SADD', KEYS[i], member)
  outlive(KEYS[i], existed)
end
return 1
