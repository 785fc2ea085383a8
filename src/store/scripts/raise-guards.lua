#!lua flags=allow-oom
-- Records an invalidation: raises the sequence and stamps each guard with it, so a write whose
-- computation began earlier is refused. allow-oom (Redis 7): a full Redis under noeviction must
-- still let invalidations through, or other processes keep serving what they delete.
-- Uses sequence.lua.
-- KEYS[1] sequence counter, KEYS[2 ..] guard keys
-- ARGV[1] guard time to live in ms
local seq = raise_sequence(KEYS[1])
for i = 2, #KEYS do
  stamp_guard(KEYS[i], seq, ARGV[1])
end
return seq
