-- Stores or deletes plain entries (the instance cache's rows) in one step. A store is skipped when
-- the entry's guard or the prefix's was raised after the sequence the caller read, or when the
-- sequence went backwards (Redis lost its data, and the guards with it); a delete always happens.
-- KEYS[1] the invalidation sequence, KEYS[2] the prefix-wide guard,
-- KEYS[3 ..] pairs: entry key, its guard
-- ARGV[1] sequence read before loading the rows,
-- ARGV[2 ..] pairs: value ('' to delete: a row's JSON is never empty), ttl in ms (0: none)
local seq = tonumber(ARGV[1])
local function raised_after(guard)
  local raised = redis.call('GET', guard)
  return raised and tonumber(raised) > seq
end
local refuse_all = tonumber(redis.call('GET', KEYS[1]) or '0') < seq or raised_after(KEYS[2])
local done = 0
for i = 3, #KEYS, 2 do
  local at = i - 1 -- ARGV index of this entry's value
  local key, value, ttl = KEYS[i], ARGV[at], tonumber(ARGV[at + 1])
  if value == '' then
    done = done + redis.call('DEL', key)
  elseif not refuse_all and not raised_after(KEYS[i + 1]) then
    if ttl > 0 then
      redis.call('SET', key, value, 'PX', ttl)
    else
      redis.call('SET', key, value)
    end
    done = done + 1
  end
end
return done
