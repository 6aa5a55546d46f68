-- One quota: _transitions.quota_wait, and count the start when it fits.
-- KEYS[1] the quota's sorted set; ARGV: now, window, limit, member.
-- Returns nil when it fits, else the seconds to wait (as a string).
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local count = redis.call('ZCARD', KEYS[1])
if count >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], count - limit, count - limit, 'WITHSCORES')
  return tostring(tonumber(oldest[2]) + window - now)
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], string.format('%.0f', math.ceil(window * 1000)))
return false
