-- _transitions.on_due. KEYS[1] the challenge; ARGV: now, token, lease_until.
-- Returns {'gone'}, {'later', when} or {'claim', result, received_cli, newly_expired, call_id}.
local key = KEYS[1]
local r = redis.call('HMGET', key, 'state', 'expires_at', 'report', 'report_cli', 'claim',
  'lease_until', 'call_id')
if not r[1] then return {'gone'} end
local now = tonumber(ARGV[1])
if r[1] == 'pending' then
  local expires = tonumber(r[2])
  if now >= expires and r[7] == '' then
    -- Its worker died while Bird placed the call: claimed as an orphan (no call id).
    finish(key, 'canceled', 'canceled', '', now, expires, ARGV[2], ARGV[3])
    return {'claim', 'canceled', '', 0, ''}
  end
  if now >= expires then
    finish(key, 'expired', 'timeout', '', now, expires, ARGV[2], ARGV[3])
    return {'claim', 'timeout', '', 1, r[7]}
  end
  redis.call('HSET', key, 'due_at', r[2])
  return {'later', r[2]}
end
if r[3] == '' then
  redis.call('HSET', key, 'due_at', '')
  return {'gone'}
end
if r[5] ~= '' and tonumber(r[6]) > now then
  redis.call('HSET', key, 'due_at', r[6])
  return {'later', r[6]}
end
redis.call('HSET', key, 'claim', ARGV[2], 'lease_until', ARGV[3], 'due_at', ARGV[3])
return {'claim', r[3], r[4], 0, r[7]}
