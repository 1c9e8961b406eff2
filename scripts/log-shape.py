# scripts/log-shape.py PORT [CALLS] [ROUNDS]: what Redis spends per booking on the batch shape
# before booked-batches (the booked set's SADD and the log's XADD field, in the fenced batch script) against a
# log-only shape (the XADD alone, the same script and fence), 400 bookings a call, alternated
# ROUNDS times. Run it against a private, empty redis-server (appendonly yes, appendfsync
# everysec): it writes keys of its own and prints CPU (used_cpu_user + sys) and AOF growth per
# booking. A negative AOF figure means a rewrite ran meanwhile: run it again.
import socket, subprocess, time, os, sys, random
port = int(sys.argv[1]); batch = 400; calls = int(sys.argv[2]) if len(sys.argv) > 2 else 600
def enc(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)
s = socket.create_connection(("127.0.0.1", port))
f = s.makefile("rb")
def read():
    line = f.readline()
    if line[:1] == b"$":
        n = int(line[1:]); 
        if n >= 0: f.read(n + 2)
    elif line[:1] == b"*":
        for _ in range(int(line[1:])): read()
    return line
def cmd(*a):
    s.sendall(enc(a)); return read()
def info(section, key):
    s.sendall(enc(["INFO", section])); line = f.readline(); n = int(line[1:]); body = f.read(n + 2).decode()
    for l in body.split("\r\n"):
        if l.startswith(key + ":"): return float(l.split(":")[1])
FULL = """local epoch = redis.call('GET', KEYS[1])
if epoch ~= ARGV[1] then return redis.error_reply('fenced') end
local seq = tonumber(redis.call('GET', KEYS[2]))
if seq ~= tonumber(ARGV[2]) then return redis.error_reply('lost') end
local i = 4
local step
while i <= #ARGV do
  local count = tonumber(ARGV[i + 2])
  if ARGV[i] == 'A' then
    step = step or redis.call('INCR', KEYS[3])
    redis.call('XADD', ARGV[i + 1], '*', 'epoch', ARGV[1], 'seq', step, unpack(ARGV, i + 3, i + 2 + count))
  else
    redis.call('SADD', ARGV[i + 1], unpack(ARGV, i + 3, i + 2 + count))
  end
  i = i + 3 + count
end
redis.call('SET', KEYS[2], ARGV[3])
return 1"""
cmd("SET", "e", "1")
s.sendall(enc(["SCRIPT", "LOAD", "#!lua\n" + FULL])); line = f.readline(); n = int(line[1:]); sha = f.read(n + 2)[:-2].decode()
def run(shape, tag):
    cmd("SET", "q" + tag, "0")
    cpu0 = info("cpu", "used_cpu_user") + info("cpu", "used_cpu_sys")
    aof0 = info("persistence", "aof_current_size") or 0
    seq = 0; h = 0
    for c in range(calls):
        holders = []
        for _ in range(batch):
            h += 1; holders.append("h:%012d" % random.randrange(10**12))
        args = ["EVALSHA", sha, 3, "e", "q" + tag, "st" + tag, "1", seq, seq + 1]
        if shape == "full":
            args += ["S", "kezek:{open%s}:booked" % tag, len(holders)] + holders
        fields = []
        for x in holders: fields += ["book", "open%s %s" % (tag, x)]
        args += ["A", "kezek:audit" + tag, len(fields)] + fields
        r = cmd(*args)
        assert r.startswith(b":1"), r
        seq += 1
    time.sleep(1.2)
    cpu1 = info("cpu", "used_cpu_user") + info("cpu", "used_cpu_sys")
    aof1 = info("persistence", "aof_current_size") or 0
    n = calls * batch
    return (cpu1 - cpu0) / n * 1e6, (aof1 - aof0) / n
res = {"full": [], "log": []}
for r in range(int(sys.argv[3]) if len(sys.argv) > 3 else 3):
    for shape in ("full", "log"):
        res[shape].append(run(shape, "%s%d" % (shape, r)))
for shape, v in res.items():
    print(shape, " ".join("%.2fus/%.0fB" % x for x in v))
