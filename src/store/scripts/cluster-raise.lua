#!lua flags=allow-oom
-- Cluster; runs in the slot of the sequence. Raises the invalidation sequence to
-- max(sequence + 1, server time in microseconds) and returns it: the first step of every
-- invalidation, whose other steps stamp guards in other slots with it. allow-oom: see
-- raise-guards.lua. Uses sequence.lua.
-- KEYS[1] the sequence
return raise_sequence_past_clock(KEYS[1])
