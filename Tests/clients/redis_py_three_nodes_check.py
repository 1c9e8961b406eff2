"""Drives three kezekd nodes on Redis Cluster with redis-py's cluster client (RedisCluster),
as a gateway would: it starts from one node, learns from CLUSTER SLOTS which node holds
which shard, and routes every BOOK by its provider's slot to that node (no -MOVED after the
first map). Run by ClusterTests: redis_py_three_nodes_check.py ENTRY_PORT HOLDER_PORT... (the
holders in shard order). Prints one line per check; exits 1 on any failure."""
import sys

from redis.cluster import RedisCluster

from checks import check, finish

entry = int(sys.argv[1])
holders = [int(port) for port in sys.argv[2:]]

rc = RedisCluster(host="127.0.0.1", port=entry, decode_responses=True)
check("nodes", sorted(node.port for node in rc.get_nodes()), sorted(holders))
# Providers in every shard; each is created, booked and read at the node of its slot.
providers = [f"py-club-{i}" for i in range(12)]
for provider in providers:
    check(f"provider {provider}", rc.execute_command("PROVIDER", provider, 3), "OK")
    check(f"book {provider}", rc.execute_command("BOOK", provider, "aruzhan"), "BOOKED 2")
    check(f"status {provider}", rc.execute_command("STATUS", provider, "aruzhan"), "BOOKED")
served = {rc.get_node_from_key(provider).port for provider in providers}
check("every node served some", sorted(served), sorted(holders))
for provider in providers:
    # The node redis-py chose is the one whose shard serves the slot (it answered, not -MOVED).
    node = rc.get_node_from_key(provider)
    shard = sum(1 for start in (5461, 10923) if rc.keyslot(provider) >= start)
    check(f"routed {provider}", node.port, holders[shard])
# A node says what it is, as a Redis Cluster node does.
check("info redis_mode", rc.info(target_nodes=RedisCluster.RANDOM).get("redis_mode"), "cluster")
rc.close()
finish()
