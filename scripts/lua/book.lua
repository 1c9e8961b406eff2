-- The baseline Kezek is compared with: a booking done inside Redis by one Lua script.
-- KEYS[1] free-seat counter, KEYS[2] set of holders, KEYS[3] (optional) an audit stream that
-- gets the entry kezekd writes per booking (docs/PROTOCOL.md, "Transparency"), so both sides
-- can be made to do the same work; ARGV[1] the holder.
-- Idempotent like Kezek's BOOK: a holder who has a seat gets BOOKED again. The replies are
-- Kezek's own lines (+BOOKED <free>, +FULL), so the same harness reads both.
if redis.call('SISMEMBER', KEYS[2], ARGV[1]) == 1 then
  return redis.status_reply('BOOKED ' .. redis.call('GET', KEYS[1]))
end
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free <= 0 then
  return redis.status_reply('FULL')
end
redis.call('DECR', KEYS[1])
redis.call('SADD', KEYS[2], ARGV[1])
if KEYS[3] then
  redis.call('XADD', KEYS[3], '*', 'op', 'book', 'holder', ARGV[1])
end
return redis.status_reply('BOOKED ' .. (free - 1))
