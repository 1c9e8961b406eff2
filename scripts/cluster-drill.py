"""A fault drill on `make cluster` with redis-py's cluster client, as a gateway would book:
BOOKs of many holders at 30 providers (700 seats each) through RedisCluster, one request at a
time, each retried until it gets +BOOKED or +FULL (connection refused, -UNAVAILABLE and the
like are retried after 50 ms). Run by scripts/cluster-drill.sh, which kills a kezekd node and a
Redis master meanwhile. Prints the outcome, checks Redis (every acknowledged booking present,
no provider over its seats) and exits 1 on any failure.
Usage: cluster-drill.py REQUESTS"""
import sys
import time

from redis.cluster import RedisCluster
from redis.exceptions import RedisError

requests = int(sys.argv[1])
seats = 700
tag = str(int(time.time()))
providers = [f"drill-{tag}-{i}" for i in range(30)]
rc = RedisCluster(host="127.0.0.1", port=7411, decode_responses=True)


def answered(*command):
    """The reply to `command`, retried through failures (at most 60 s)."""
    deadline = time.time() + 60
    while True:
        try:
            return rc.execute_command(*command)
        except (RedisError, OSError) as error:
            failures[type(error).__name__ + ": " + str(error)[:48]] = failures.get(type(error).__name__ + ": " + str(error)[:48], 0) + 1
            if time.time() > deadline:
                return None
            time.sleep(0.05)


failures = {}
for provider in providers:
    answered("PROVIDER", provider, seats)
booked = {provider: set() for provider in providers}
full, unanswered, unexpected = 0, 0, []
start = time.time()
for n in range(requests):
    provider, holder = providers[n % len(providers)], f"h{n}"
    reply = answered("BOOK", provider, holder)
    if reply is None:
        unanswered += 1
    elif reply.startswith("BOOKED"):
        booked[provider].add(holder)
    elif reply == f"FULL {provider}":
        full += 1
    else:
        unexpected.append(reply)
    if n % 5000 == 0:
        print(f"{time.time() - start:5.1f} s: {n} requests answered", flush=True)
acknowledged = sum(len(holders) for holders in booked.values())
print(f"{requests} BOOKs in {time.time() - start:.1f} s: {acknowledged} +BOOKED, {full} +FULL, "
      f"{unanswered} unanswered, {len(unexpected)} unexpected")
print("retried:", ", ".join(f"{count} x {text}" for text, count in sorted(failures.items())) or "nothing")
# Redis, as the cluster now is: every acknowledged booking there, no provider over its seats.
redis = RedisCluster(host="127.0.0.1", port=6402, decode_responses=True)
def batch_id(text):
    return tuple(int(part) for part in text.split("."))
def stored(provider):
    """The holders with a seat at provider: the booked set, and the batches' hash (a batch's
    bookings in a field named <epoch>.<sequence>.<group>; !<holder> masks the holder's
    earlier fields; docs/DESIGN.md, "Bookings in Redis")."""
    holders = set(redis.smembers(f"kezek:{{{provider}}}:booked"))
    batches = redis.hgetall(f"kezek:{{{provider}}}:booked-batches")
    masks = {field[1:]: batch_id(value) for field, value in batches.items() if field.startswith("!")}
    latest = {}
    for field, value in batches.items():
        if not field.startswith("!"):
            for holder in value.split(" "):
                latest[holder] = max(latest.get(holder, batch_id(field)), batch_id(field))
    return holders | {holder for holder, at in latest.items() if masks.get(holder, (-1,)) < at}
stored_now = {provider: stored(provider) for provider in providers}
missing = sum(len(holders - stored_now[provider]) for provider, holders in booked.items())
oversold = [provider for provider in providers if len(stored_now[provider]) > seats]
print(f"redis: {missing} acknowledged bookings missing, {len(oversold)} providers over their seats")
ok = unanswered == 0 and not unexpected and missing == 0 and not oversold and acknowledged == min(requests, seats * len(providers))
print("drill:", "nothing lost, oversold or unanswered" if ok else "FAILED")
sys.exit(0 if ok else 1)
