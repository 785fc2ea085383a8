-- Returns the members of a set whose entries are still stored and unexpired; removes the others.
-- KEYS[1] set; ARGV[1] the current time in ms (stored values start with '<expires at ms>|')
-- Members name entries outside KEYS (see pop-sets.lua).
local now = tonumber(ARGV[1])
local alive = {}
for _, member in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local at = string.find(member, '>', 1, true)
  local value
  if at then
    value = redis.call('HGET', string.sub(member, 1, at - 1), string.sub(member, at + 1))
  else
    value = redis.call('GET', member)
  end
  local live = false
  if value then
    local bar = string.find(value, '|', 1, true)
    local expires = bar and tonumber(string.sub(value, 1, bar - 1))
    live = expires ~= nil and (expires == 0 or expires > now)
  end
  if live then
    alive[#alive + 1] = member
  else
    redis.call('SREM', KEYS[1], member)
  end
end
return alive
