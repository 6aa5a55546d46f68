-- KEYS[1] the challenge; ARGV: now. Returns 1 when a report was waiting.
local r = redis.call('HMGET', KEYS[1], 'report', 'state', 'expires_at')
if not r[1] or r[1] == '' then return 0 end
return done(KEYS[1], r[2], tonumber(r[3]), tonumber(ARGV[1]))
