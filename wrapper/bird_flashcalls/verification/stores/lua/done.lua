-- Shared by report_done and a dropped report: _transitions.on_report_done. Returns 1.
local function done(key, state, expires, now)
  if state == 'verified' or state == 'canceled' then
    redis.call('DEL', key)
    return 1
  end
  local purge = expires + ENDED_KEPT_FOR
  if purge <= now then
    redis.call('DEL', key)
    return 1
  end
  redis.call('HSET', key, 'report', '', 'report_cli', '', 'claim', '', 'due_at', '',
    'purge_at', tostring(purge))
  redis.call('PEXPIREAT', key, string.format('%.0f', math.ceil(purge * 1000)))
  return 1
end
