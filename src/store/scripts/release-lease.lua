-- Deletes a lease only if the token still holds it: a lease that expired and was taken by another
-- process stays theirs.
-- KEYS[1] lease; ARGV[1] token
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
