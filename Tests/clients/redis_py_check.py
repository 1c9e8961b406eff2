"""Drives kezekd with redis-py at its defaults (RESP3 via HELLO 3 in redis-py 8), the way a
gateway written in Python would. Run by RedisClientTests with the virtual environment's
Python: redis_py_check.py PORT TOKEN. Prints one line per check; exits 1 on any failure."""
import sys
import time

import redis

from checks import check, finish, raises

port, token = int(sys.argv[1]), sys.argv[2]


print(f"redis-py {redis.__version__}")
# Defaults: protocol 3 in redis-py 8, username 'default', a client name and db 0.
r = redis.Redis(port=port, username="default", password=token, client_name="gateway-py", db=0,
                decode_responses=True)
check("ping", r.ping(), True)
check("provider", r.execute_command("PROVIDER", "py-club", 2), "OK")
check("book", r.execute_command("BOOK", "py-club", "aigerim"), "BOOKED 1")
check("book again", r.execute_command("BOOK", "py-club", "aigerim"), "BOOKED 1")
check("book last seat", r.execute_command("BOOK", "py-club", "daniyar"), "BOOKED 0")
check("full is a value", r.execute_command("BOOK", "py-club", "timur"), "FULL py-club")
check("wait", r.execute_command("BOOK", "py-club", "timur", "WAIT"), "WAITING 1")
check("status", r.execute_command("STATUS", "py-club", "aigerim"), "BOOKED")
check("client name", r.client_getname(), "gateway-py")
check("client id is an int", isinstance(r.client_id(), int), True)
check("echo", r.echo("marker"), "marker")
info = r.info()
check("info redis_mode", info.get("redis_mode"), "standalone")
check("info role", info.get("role"), "master")
check("info loading", info.get("loading"), 0)
check("config get", r.config_get("maxclients").get("maxclients") is not None, True)
raises("unknown provider is an error", lambda: r.execute_command("BOOK", "nowhere", "x"), redis.ResponseError, "NOPROVIDER")

# The default pipeline is a MULTI/EXEC transaction: never half applied.
pipe = r.pipeline()
pipe.execute_command("BOOK", "py-club", "tx-holder-1")
pipe.execute_command("CANCEL", "py-club", "aigerim")
raises("transaction refused", pipe.execute, redis.ResponseError, "")
check("nothing of the transaction ran", r.execute_command("STATUS", "py-club", "aigerim"), "BOOKED")
check("nothing of the transaction ran (2)", r.execute_command("STATUS", "py-club", "tx-holder-1"), "NONE")
# A pipeline without a transaction works.
pipe = r.pipeline(transaction=False)
pipe.execute_command("SEATS", "py-club")
pipe.execute_command("STATUS", "py-club", "timur")
check("plain pipeline", pipe.execute(), ["SEATS capacity=2 booked=2 free=0 waiting=1 refused=1", "WAITING 1"])
check("connection still usable", r.execute_command("STATUS", "py-club", "daniyar"), "BOOKED")

# What an operator or an admin UI asks: CLIENT INFO / LIST / KILL, and the latency monitor.
client_info = r.client_info()
check("client info name", client_info.get("name"), "gateway-py")
check("client info id", client_info.get("id"), r.client_id())
check("client info lib-name", client_info.get("lib-name"), "redis-py")
victim = redis.Redis(port=port, password=token, client_name="victim-py", decode_responses=True)
victim_id = victim.client_id()
check("client list", sorted(c["name"] for c in r.client_list() if c["name"] in ("gateway-py", "victim-py")),
      ["gateway-py", "victim-py"])
check("client kill by id", r.client_kill_filter(_id=victim_id), 1)
for _ in range(50):
    if all(c["id"] != str(victim_id) for c in r.client_list()):
        break
    time.sleep(0.05)
check("killed client gone from the list", any(c["id"] == str(victim_id) for c in r.client_list()), False)
check("latency latest", r.latency_latest(), [])
check("latency doctor", "no latency spike" in r.execute_command("LATENCY", "DOCTOR"), True)

# RESP2 explicitly, as older gateways do.
r2 = redis.Redis(port=port, password=token, protocol=2, decode_responses=True)
check("resp2 book", r2.execute_command("BOOK", "py-club", "aigerim"), "BOOKED 0")

# Errors come back as the library's exceptions.
raises("no auth", lambda: redis.Redis(port=port, protocol=2).execute_command("SEATS", "py-club"),
       redis.exceptions.AuthenticationError, "")
raises("wrong password", lambda: redis.Redis(port=port, password="wrong").ping(),
       redis.exceptions.AuthenticationError, "")

finish()
