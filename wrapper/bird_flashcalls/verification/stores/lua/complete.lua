-- _transitions.on_complete: replace a ringing record (no call id yet, pending) by the one given.
-- KEYS[1] the challenge; ARGV: purge_at in ms, then field, value pairs. Returns 1, or 0 when
-- the record is gone or no longer ringing (expire_due() took it for an orphan).
local r = redis.call('HMGET', KEYS[1], 'state', 'call_id')
if r[1] ~= 'pending' or r[2] ~= '' then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
