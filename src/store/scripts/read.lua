-- Reads one entry and the invalidation sequence in one round trip.
-- KEYS[1] entry key (a hash when ARGV[1] is a field), KEYS[2] sequence counter
-- ARGV[1] hash field, or '' for an entry of its own
local value
if ARGV[1] == '' then
  value = redis.call('GET', KEYS[1])
else
  value = redis.call('HGET', KEYS[1], ARGV[1])
end
return { value, redis.call('GET', KEYS[2]) }
