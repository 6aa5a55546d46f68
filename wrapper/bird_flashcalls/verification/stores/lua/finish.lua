-- Shared by the scripts that end a challenge (_transitions.end_challenge): set its report,
-- claim it, keep the record until it is reported (UNREPORTED_KEPT_FOR past its expiry).
local function finish(key, state, result, cli, now, expires, token, lease)
  local purge = math.max(expires, now) + UNREPORTED_KEPT_FOR
  redis.call('HSET', key, 'state', state, 'report', result, 'report_cli', cli,
    'claim', token, 'lease_until', lease, 'due_at', lease, 'purge_at', tostring(purge))
  redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil(purge * 1000)))
end
