-- Library, not a command (see liveness.lua): the instance cache's plain entries.

-- Stores or deletes the plain entries KEYS[first], KEYS[first + 2], ... (each followed by its
-- guard), whose value and ttl are the ARGV pair at the same offset from ARGV[2]. A value '' deletes
-- (a row's JSON is never empty), always; a store is skipped when refuse_all, or when the entry's
-- guard was raised after seq. Returns how many were stored or deleted.
local function write_plain(first, seq, refuse_all)
  local done = 0
  for i = first, #KEYS, 2 do
    local at = i - first + 2 -- ARGV index of this entry's value
    local key, value, ttl = KEYS[i], ARGV[at], tonumber(ARGV[at + 1])
    if value == '' then
      done = done + redis.call('DEL', key)
    elseif not refuse_all then
      local raised = redis.call('GET', KEYS[i + 1])
      if not (raised and tonumber(raised) > seq) then
        if ttl > 0 then
          redis.call('SET', key, value, 'PX', ttl)
        else
          redis.call('SET', key, value)
        end
        done = done + 1
      end
    end
  end
  return done
end

