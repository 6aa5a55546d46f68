-- note_caller / caller_sample: KEYS[1] the list of the last caller endings seen (oldest first),
-- KEYS[2] a hash ending -> how many times it is in the list (one hash tag: one slot).
-- ARGV[1] the ending to add ('' to only read), ARGV[2] how many to keep.
-- Reply: {endings kept, pairs of them that are equal}.
local list, counts = KEYS[1], KEYS[2]
if ARGV[1] ~= '' then
  local keep = tonumber(ARGV[2])
  redis.call('RPUSH', list, ARGV[1])
  redis.call('HINCRBY', counts, ARGV[1], 1)
  while redis.call('LLEN', list) > keep do
    local oldest = redis.call('LPOP', list)
    if redis.call('HINCRBY', counts, oldest, -1) <= 0 then
      redis.call('HDEL', counts, oldest)
    end
  end
  -- Forgotten 30 days after the last start, like every other key of the store.
  redis.call('PEXPIRE', list, 2592000000)
  redis.call('PEXPIRE', counts, 2592000000)
end
local samples, equal_pairs = 0, 0
for _, value in ipairs(redis.call('HVALS', counts)) do
  local n = tonumber(value)
  samples = samples + n
  equal_pairs = equal_pairs + n * (n - 1) / 2
end
return {samples, equal_pairs}
