-- Library, not a command: prepended to the scripts that tell live entries from dead ones (see
-- SCRIPTS in redis-store.ts), so the rule is written once and each script stays one EVALSHA.
-- Redis 7.0 has no expiry per hash field, so a field past its deadline is dead though still stored.

-- A stored value is '<fresh until, ms; 0 for never>[+<grace ms>]|<payload>' (envelope.ts).
-- Returns fresh until, grace and the position of '|', or nil for anything else.
local function parse_envelope(value)
  if type(value) ~= 'string' then
    return nil
  end
  local bar = string.find(value, '|', 1, true)
  if not bar then
    return nil
  end
  local header = string.sub(value, 1, bar - 1)
  local plus = string.find(header, '+', 1, true)
  local fresh_until = tonumber(plus and string.sub(header, 1, plus - 1) or header)
  local grace = plus and tonumber(string.sub(header, plus + 1)) or 0
  if fresh_until == nil or grace == nil then
    return nil
  end
  return fresh_until, grace, bar
end

-- Live: fresh, or stale within its grace. pcall results: a type clash (WRONGTYPE) comes back as a
-- table, a missing value as false; neither is live.
local function is_live_value(value, now)
  local fresh_until, grace = parse_envelope(value)
  return fresh_until ~= nil and (fresh_until == 0 or fresh_until + grace > now)
end

-- The entry under `key` (field '') or in field `field` of the hash `key` is live. pcall: a name
-- now holding the other kind (string vs hash) does not store this entry.
local function is_live_entry(key, field, now)
  if field ~= '' then
    return is_live_value(redis.pcall('HGET', key, field), now)
  end
  return is_live_value(redis.pcall('GET', key), now)
end

-- A set member names an entry: '<key>' or '<hash>><field>' (the prefix holds no '>').
local function is_live_member(member, now)
  local at = string.find(member, '>', 1, true)
  if at then
    return is_live_entry(string.sub(member, 1, at - 1), string.sub(member, at + 1), now)
  end
  return is_live_entry(member, '', now)
end

-- Removes from `set` those of `members` whose entries are dead; returns the count and the live ones.
local function prune_members(set, members, now)
  local removed, alive = 0, {}
  for _, member in ipairs(members) do
    if is_live_member(member, now) then
      alive[#alive + 1] = member
    else
      removed = removed + redis.call('SREM', set, member)
    end
  end
  return removed, alive
end

-- Removes from `hash` the fields, given as a flat field/value list (HSCAN, HRANDFIELD WITHVALUES),
-- whose values are envelopes past their deadline; returns how many. A field without an envelope
-- is not cacheme's: it is left alone.
local function prune_fields(hash, field_values, now)
  local removed = 0
  for i = 1, #field_values, 2 do
    local value = field_values[i + 1]
    if parse_envelope(value) ~= nil and not is_live_value(value, now) then
      removed = removed + redis.call('HDEL', hash, field_values[i])
    end
  end
  return removed
end

