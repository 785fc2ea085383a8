#!lua flags=allow-oom
-- Records an invalidation: increments the sequence and stamps each guard with it, so a write whose
-- computation began earlier is refused. The sequence starts from the server clock (microseconds)
-- so that it keeps growing if Redis lost it. allow-oom (Redis 7): a full Redis under noeviction
-- must still let invalidations through, or other processes keep serving what they delete.
-- KEYS[1] sequence counter, KEYS[2 ..] guard keys
-- ARGV[1] guard time to live in ms
if redis.call('EXISTS', KEYS[1]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[1], string.format('%d', now[1] * 1000000 + now[2]))
end
local seq = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do
  redis.call('SET', KEYS[i], seq, 'PX', ARGV[1])
end
return seq
