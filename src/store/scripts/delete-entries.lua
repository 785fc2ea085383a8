#!lua flags=allow-oom
-- One step of deleting entries: stamps each entry's guard with the invalidation's sequence, so
-- that a write computed before it is refused, and deletes the entry. A name that holds the other
-- kind (a string for a field, a hash for a key) does not store the entry: nothing is deleted.
-- allow-oom: see raise-guards.lua. Uses sequence.lua.
-- KEYS[1] the sequence; KEYS[2 ..] pairs: the entry's key (its hash, for a field), its guard
-- ARGV[1] the invalidation's sequence, or 0 to raise it now (its first step), ARGV[2] guard time
-- to live in ms, ARGV[3 ..] each entry's hash field, or '' for an entry under a key of its own
-- Returns { the sequence, entries deleted }.
local seq = step_sequence(KEYS[1], ARGV[1])
local deleted = 0
for i = 2, #KEYS, 2 do
  stamp_guard(KEYS[i + 1], seq, ARGV[2])
  local field = ARGV[i / 2 + 2]
  if field == '' then
    deleted = deleted + redis.call('DEL', KEYS[i])
  elseif redis.pcall('HDEL', KEYS[i], field) == 1 then
    deleted = deleted + 1
  end
end
return { seq, deleted }
