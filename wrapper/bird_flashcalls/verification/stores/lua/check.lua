-- _transitions.on_check, comparing as GivenAnswer.compare does for answers read alone.
-- KEYS[1] the challenge. ARGV: answer, then now, token and lease_until as one string
-- separated by spaces. The answer's first
-- character says what follows: 'c' the digits typed (against the caller number's last
-- code_digits), 'n' the E.164 number received, or nothing when unreadable (against the whole
-- caller number), 'm' then '1' or '0' compared by the client, then the number to report.
-- Returns attempts_left for a wrong answer that leaves some, {status, attempts_left} when
-- nothing else is to be reported, {'code_length', code_digits}
-- (nothing changed) for a code of another length, else {status, attempts_left, result,
-- newly_expired, call_id, phone when verified}.
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'attempts', 'max_attempts', 'expires_at', 'call_id',
  'expected_cli', 'code_digits', 'phone')
local state = r[1]
if not state or r[5] == '' then return {'not_found', 0} end
local kind = string.sub(ARGV[1], 1, 1)
local answer = string.sub(ARGV[1], 2)
local digits = tonumber(r[7])
if kind == 'c' and #answer ~= digits then return {'code_length', digits} end
if state == 'verified' or state == 'canceled' then return {'not_found', 0} end
if state == 'locked' then return {'locked', 0} end
if state == 'expired' then return {'expired', 0} end
local now, token, lease = string.match(ARGV[2], '^(%S+) (%S+) (%S+)$')
now = tonumber(now)
local expires = tonumber(r[4])
local attempts = tonumber(r[2])
local max = tonumber(r[3])
if now >= expires then
  finish(key, 'expired', 'timeout', '', now, expires, token, lease)
  return {'expired', 0, 'timeout', 1, r[5]}
end
local matched, cli
if kind == 'm' then
  matched, cli = string.sub(answer, 1, 1) == '1', string.sub(answer, 2)
else
  local expected = r[6]
  if kind == 'c' then expected, cli = string.sub(expected, -digits), '' else cli = answer end
  -- Digests keyed with the secret itself are compared, not the digits: how long the comparison
  -- takes tells nothing an attacker can use.
  matched = answer ~= '' and redis.sha1hex(r[6] .. expected) == redis.sha1hex(r[6] .. answer)
end
if matched then
  finish(key, 'verified', 'verified', cli, now, expires, token, lease)
  return {'verified', max - attempts, 'verified', 0, r[5], r[8]}
end
attempts = attempts + 1
redis.call('HSET', key, 'attempts', attempts)
if attempts < max then return max - attempts end
finish(key, 'locked', 'wrong_cli', cli, now, expires, token, lease)
return {'locked', 0, 'wrong_cli', 0, r[5]}
