-- _transitions.on_report_failed. KEYS[1] the challenge; ARGV: token, now, give_up (1/0).
-- Returns 0 (not ours), 1 (released: due now) or 2 (dropped).
local r = redis.call('HMGET', KEYS[1], 'report', 'claim', 'state', 'expires_at')
if not r[1] or r[1] == '' or r[2] ~= ARGV[1] then return 0 end
if ARGV[3] == '1' then
  done(KEYS[1], r[3], tonumber(r[4]), tonumber(ARGV[2]))
  return 2
end
redis.call('HSET', KEYS[1], 'claim', '', 'lease_until', ARGV[2], 'due_at', ARGV[2])
return 1
