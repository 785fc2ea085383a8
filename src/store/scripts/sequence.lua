-- Library, not a command (see liveness.lua): the invalidation sequence, and the guards an
-- invalidation stamps with it.

-- Raises the sequence and returns it. It starts from the server clock (microseconds) so that it
-- keeps growing if Redis lost it.
local function raise_sequence(key)
  if redis.call('EXISTS', key) == 0 then
    local now = redis.call('TIME')
    redis.call('SET', key, string.format('%d', now[1] * 1000000 + now[2]))
  end
  return redis.call('INCR', key)
end

-- On a Cluster: raises the sequence to max(sequence + 1, server time in microseconds), so that a
-- failover that lost the last increments cannot move it backwards past guards stamped on other
-- masters (the masters' clocks agree far better than a microsecond per invalidation).
local function raise_sequence_past_clock(key)
  local now = redis.call('TIME')
  local clock = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local seq = tonumber(redis.call('GET', key) or '0') + 1
  if clock > seq then
    seq = clock
  end
  redis.call('SET', key, string.format('%d', seq))
  return seq
end

-- An invalidation made in steps stamps every guard with the sequence its first step raised: a
-- guard that a later invalidation stamped meanwhile keeps the later sequence, or a write that
-- later one must refuse would pass. A ttl of 0 keeps the guard (a Cluster's slot guards).
local function stamp_guard(guard, seq, ttl)
  local stamped = redis.call('GET', guard)
  if not stamped or tonumber(stamped) < seq then
    if tonumber(ttl) > 0 then
      redis.call('SET', guard, string.format('%d', seq), 'PX', ttl)
    else
      redis.call('SET', guard, string.format('%d', seq))
    end
  end
end

-- The sequence of an invalidation's step: its own (ARGV), or raised now for the first step (0).
local function step_sequence(key, given)
  local seq = tonumber(given)
  if seq == 0 then
    return raise_sequence(key)
  end
  return seq
end

