-- The baseline with the contract's audit stream: book.lua plus one stream entry per booking,
-- in the same script (docs/PROTOCOL.md, "Transparency"), so both sides do the same work.
-- KEYS[1] free-seat counter, KEYS[2] set of holders, KEYS[3] audit stream; ARGV[1] the holder.
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return {'BOOKED', tonumber(redis.call('GET', KEYS[1]))}
end
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free <= 0 then
  return 'FULL'
end
redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[3], '*', 'op', 'book', 'holder', ARGV[1])
return {'BOOKED', free - 1}
