-- HSET of every field, and the record's expiry. KEYS[1] the challenge;
-- ARGV: purge_at in ms, then field, value pairs.
redis.call('HSET', KEYS[1], unpack(ARGV, 2))
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
