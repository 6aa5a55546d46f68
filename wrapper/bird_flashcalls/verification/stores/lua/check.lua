-- _transitions.on_check. KEYS[1] the challenge.
-- ARGV: matched (1/0), received_cli ('' for none), now, token, lease_until, unreported_kept_for.
-- Returns {status, attempts_left, result ('' when nothing to report), newly_expired, call_id}.
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'attempts', 'max_attempts', 'expires_at', 'call_id')
local state = r[1]
if not state or r[5] == '' then return {'not_found', 0, '', 0, ''} end
if state == 'verified' or state == 'canceled' then return {'not_found', 0, '', 0, ''} end
if state == 'locked' then return {'locked', 0, '', 0, ''} end
if state == 'expired' then return {'expired', 0, '', 0, ''} end
local now = tonumber(ARGV[3])
local expires = tonumber(r[4])
local attempts = tonumber(r[2])
local max = tonumber(r[3])
local kept = tonumber(ARGV[6])
if now >= expires then
  finish(key, 'expired', 'timeout', '', now, expires, ARGV[4], ARGV[5], kept)
  return {'expired', 0, 'timeout', 1, r[5]}
end
if ARGV[1] == '1' then
  finish(key, 'verified', 'verified', ARGV[2], now, expires, ARGV[4], ARGV[5], kept)
  return {'verified', max - attempts, 'verified', 0, r[5]}
end
attempts = attempts + 1
redis.call('HSET', key, 'attempts', attempts)
if attempts < max then return {'wrong', max - attempts, '', 0, ''} end
finish(key, 'locked', 'wrong_cli', ARGV[2], now, expires, ARGV[4], ARGV[5], kept)
return {'locked', 0, 'wrong_cli', 0, r[5]}
