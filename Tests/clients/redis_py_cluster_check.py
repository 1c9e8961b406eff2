"""Drives kezekd with redis-py's cluster client (RedisCluster), the way a gateway written for a
Redis Cluster would: it asks CLUSTER SLOTS which node serves which hash slots, learns from
COMMAND that BOOK, STATUS and SEATS take the provider as their key, and routes each by the
provider's slot. Run by RedisClientTests: redis_py_cluster_check.py PORT TOKEN. Prints one
line per check; exits 1 on any failure."""
import sys

from redis.cluster import RedisCluster

from checks import check, finish

port, token = int(sys.argv[1]), sys.argv[2]


rc = RedisCluster(host="127.0.0.1", port=port, password=token, decode_responses=True)
nodes = rc.get_nodes()
check("one node", [(node.host, node.port) for node in nodes], [("127.0.0.1", port)])
check("slot of a provider", rc.keyslot("cluster-club"), rc.cluster_keyslot("cluster-club"))
check("provider", rc.execute_command("PROVIDER", "cluster-club", 2), "OK")
check("book", rc.execute_command("BOOK", "cluster-club", "aruzhan"), "BOOKED 1")
check("status", rc.execute_command("STATUS", "cluster-club", "aruzhan"), "BOOKED")
check("seats", rc.execute_command("SEATS", "cluster-club").split()[0:3], ["SEATS", "capacity=2", "booked=1"])
# The node that serves the provider's slot is the one that took the booking.
node = rc.get_node_from_key("cluster-club")
check("routed to", (node.host, node.port), ("127.0.0.1", port))
rc.close()
finish()
