-- _transitions.on_cancel. KEYS[1] the challenge; ARGV: now, token, lease_until.
-- Returns {canceled (1/0), result ('' for none), newly_expired, call_id}.
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'expires_at', 'call_id')
if r[1] ~= 'pending' or r[3] == '' then return {0, '', 0, ''} end
local now = tonumber(ARGV[1])
local expires = tonumber(r[2])
if now >= expires then
  finish(key, 'expired', 'timeout', '', now, expires, ARGV[2], ARGV[3])
  return {0, 'timeout', 1, r[3]}
end
finish(key, 'canceled', 'canceled', '', now, expires, ARGV[2], ARGV[3])
return {1, 'canceled', 0, r[3]}
