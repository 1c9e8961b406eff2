/// `CLUSTER SLOTS | SHARDS | NODES | INFO | MYID | KEYSLOT <key>`, answered as a Redis
/// Cluster node would, so cluster-aware clients (redis-py's RedisCluster, redis-cli -c) can
/// use kezekd: they learn which node serves which hash slots and route each command by its
/// key (a provider, see `CommandEntry.Key.provider`). A lone kezekd serves every provider, so
/// it describes itself as the one primary owning all 16384 slots at its `listen` address; on
/// Redis Cluster (`redis-cluster`) each shard's slots are described at the address of the
/// kezekd holding that shard (`ClusterDirectory`). A shard nobody holds right now (a takeover
/// under way) is described at this kezekd's own address, so clients still see every slot
/// served (redis-py refuses a map with holes) and ask here, where they are answered
/// `-UNAVAILABLE … retry` until the directory knows the new holder, then `-MOVED` there.
extension CommandExecutor {
    /// One kezekd as a cluster node: its slot ranges, its address and its id.
    struct ClusterNode {
        let ranges: [ClosedRange<Int>]
        let address: ServerSettings.Endpoint
        let id: String
    }

    /// Every node serving slots now, this one first when it does.
    func clusterNodes() -> [ClusterNode] {
        let listen = settings.listen
        guard let directory else {
            return [
                ClusterNode(
                    ranges: [0...(HashSlot.count - 1)], address: listen, id: server.clusterNodeID)
            ]
        }
        guard let snapshot = directory.snapshot else { return [] }
        var nodes: [String: ClusterNode] = [:]
        for (shard, holder) in zip(snapshot.topology.shards, snapshot.holders) {
            let holder = holder ?? listen
            let ranges = (nodes[holder.description]?.ranges ?? []) + shard.ranges
            nodes[holder.description] = ClusterNode(
                ranges: ranges.sorted { $0.lowerBound < $1.lowerBound }, address: holder,
                id: Self.nodeID(holder))
        }
        return nodes.values.sorted {
            ($0.address == listen ? 0 : 1, $0.ranges.first?.lowerBound ?? 0) < (
                $1.address == listen ? 0 : 1, $1.ranges.first?.lowerBound ?? 0
            )
        }
    }

    /// On Redis Cluster every kezekd names every other by the same id: 40 hex digits
    /// derived from its address (FNV-1a, five rounds).
    static func nodeID(_ address: ServerSettings.Endpoint) -> String {
        var text = ""
        for round in 0..<5 {
            var hash: UInt64 = 0xcbf2_9ce4_8422_2325 &+ UInt64(round)
            for byte in address.description.utf8 {
                hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
            }
            let hex = String(hash, radix: 16)
            text += String(repeating: "0", count: 16 - hex.count) + hex
        }
        return String(text.prefix(40))
    }

    func cluster(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        var out = RESPWriter(resp3: connection.session.resp3)
        let subcommand = String(decoding: tokens[1], as: UTF8.self).uppercased()
        let listen = server.settings.listen
        let nodes = subcommand == "KEYSLOT" ? [] : clusterNodes()
        let myID = directory == nil ? server.clusterNodeID : Self.nodeID(listen)
        func arguments(_ expected: Int) -> Reply? {
            tokens.count == expected ? nil : .wrongArity("cluster|" + subcommand.lowercased())
        }
        switch subcommand {
        case "KEYSLOT":
            if let wrong = arguments(3) { return wrong }
            out.integer(HashSlot.of(tokens[2]))
        case "MYID":
            if let wrong = arguments(2) { return wrong }
            out.bulk(myID)
        case "SLOTS":
            if let wrong = arguments(2) { return wrong }
            let ranges = nodes.flatMap { node in node.ranges.map { (range: $0, node: node) } }
                .sorted { $0.range.lowerBound < $1.range.lowerBound }
            out.array(ranges.count)
            for (range, node) in ranges {
                out.array(3)
                out.integer(range.lowerBound)
                out.integer(range.upperBound)
                out.array(3)
                out.bulk(node.address.host)
                out.integer(node.address.port)
                out.bulk(node.id)
            }
        case "SHARDS":
            if let wrong = arguments(2) { return wrong }
            out.array(nodes.count)
            for node in nodes {
                out.map(2)
                out.bulk("slots")
                out.array(2 * node.ranges.count)
                for range in node.ranges {
                    out.integer(range.lowerBound)
                    out.integer(range.upperBound)
                }
                out.bulk("nodes")
                out.array(1)
                out.map(7)
                out.bulk("id"); out.bulk(node.id)
                out.bulk("port"); out.integer(node.address.port)
                out.bulk("ip"); out.bulk(node.address.host)
                out.bulk("endpoint"); out.bulk(node.address.host)
                out.bulk("role"); out.bulk("master")
                out.bulk("replication-offset"); out.integer(0)
                out.bulk("health"); out.bulk("online")
            }
        case "NODES":
            if let wrong = arguments(2) { return wrong }
            var text = ""
            for (index, node) in nodes.enumerated() {
                let flags = node.address == listen ? "myself,master" : "master"
                let slots = node.ranges.map {
                    $0.lowerBound == $0.upperBound
                        ? "\($0.lowerBound)" : "\($0.lowerBound)-\($0.upperBound)"
                }
                text +=
                    "\(node.id) \(node.address.host):\(node.address.port)@0 \(flags) - 0 0 \(index + 1) connected \(slots.joined(separator: " "))\n"
            }
            out.verbatim(text)
        case "INFO":
            if let wrong = arguments(2) { return wrong }
            let assigned = nodes.reduce(0) { $0 + $1.ranges.reduce(0) { $0 + $1.count } }
            // Every shard held by a kezekd: ok; a takeover under way: fail, as Redis says while
            // a master's slots wait for its replica.
            let held =
                directory.map { $0.snapshot.map { !$0.holders.contains(nil) } ?? false }
                ?? true
            out.verbatim(
                """
                cluster_enabled:1\r
                cluster_state:\(assigned == HashSlot.count && held ? "ok" : "fail")\r
                cluster_slots_assigned:\(assigned)\r
                cluster_slots_ok:\(assigned)\r
                cluster_slots_pfail:0\r
                cluster_slots_fail:0\r
                cluster_known_nodes:\(nodes.count)\r
                cluster_size:\(nodes.count)\r
                cluster_current_epoch:1\r
                cluster_my_epoch:1\r

                """)
        default:
            return .unknownSubcommand(
                tokens[1], "Kezek answers CLUSTER SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT.")
        }
        return out.reply
    }
}
