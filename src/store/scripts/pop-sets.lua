-- Removes up to ARGV[1] members from each set and deletes the entries they name. SPOP removes
-- exactly what it returns, so a member added meanwhile stays for the next call.
-- Returns { entries deleted, members left in the sets }.
-- KEYS[1 ..] sets; members name entries (`<key>` or `<hash>><field>`) outside KEYS, so on a
-- Cluster the sets and their entries must share a slot.
local batch = tonumber(ARGV[1])
local deleted, left = 0, 0
for i = 1, #KEYS do
  for _, member in ipairs(redis.call('SPOP', KEYS[i], batch)) do
    local at = string.find(member, '>', 1, true)
    if at then
      deleted = deleted + redis.call('HDEL', string.sub(member, 1, at - 1), string.sub(member, at + 1))
    else
      deleted = deleted + redis.call('DEL', member)
    end
  end
  left = left + redis.call('SCARD', KEYS[i])
end
return { deleted, left }
