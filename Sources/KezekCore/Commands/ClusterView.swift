/// `CLUSTER SLOTS | SHARDS | NODES | INFO | MYID | KEYSLOT <key>`, answered as a Redis
/// Cluster node would, so cluster-aware clients (redis-py's RedisCluster, redis-cli -c) can
/// use kezekd: they learn which node serves which hash slots and route each command by its
/// key (a provider, see `CommandDocs.providerIsKey`). Today one kezekd serves every provider,
/// so it describes itself as the one primary owning all 16384 slots at its `listen` address.
extension CommandExecutor {
    func cluster(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        var out = RESPWriter(resp3: connection.session.resp3)
        let subcommand = String(decoding: tokens[1], as: UTF8.self).uppercased()
        let listen = server.settings.listen
        let id = server.clusterNodeID
        let lastSlot = HashSlot.count - 1
        func arguments(_ expected: Int) -> Reply? {
            tokens.count == expected ? nil : .error("ERR wrong number of arguments for 'cluster|\(subcommand.lowercased())' command")
        }
        switch subcommand {
        case "KEYSLOT":
            if let wrong = arguments(3) { return wrong }
            out.integer(HashSlot.of(tokens[2]))
        case "MYID":
            if let wrong = arguments(2) { return wrong }
            out.bulk(id)
        case "SLOTS":
            if let wrong = arguments(2) { return wrong }
            out.array(1)
            out.array(3)
            out.integer(0)
            out.integer(lastSlot)
            out.array(3)
            out.bulk(listen.host)
            out.integer(listen.port)
            out.bulk(id)
        case "SHARDS":
            if let wrong = arguments(2) { return wrong }
            out.array(1)
            out.map(2)
            out.bulk("slots")
            out.array(2)
            out.integer(0)
            out.integer(lastSlot)
            out.bulk("nodes")
            out.array(1)
            out.map(7)
            out.bulk("id"); out.bulk(id)
            out.bulk("port"); out.integer(listen.port)
            out.bulk("ip"); out.bulk(listen.host)
            out.bulk("endpoint"); out.bulk(listen.host)
            out.bulk("role"); out.bulk("master")
            out.bulk("replication-offset"); out.integer(0)
            out.bulk("health"); out.bulk("online")
        case "NODES":
            if let wrong = arguments(2) { return wrong }
            out.verbatim("\(id) \(listen.host):\(listen.port)@0 myself,master - 0 0 1 connected 0-\(lastSlot)\n")
        case "INFO":
            if let wrong = arguments(2) { return wrong }
            out.verbatim("""
                cluster_enabled:1\r
                cluster_state:ok\r
                cluster_slots_assigned:\(HashSlot.count)\r
                cluster_slots_ok:\(HashSlot.count)\r
                cluster_slots_pfail:0\r
                cluster_slots_fail:0\r
                cluster_known_nodes:1\r
                cluster_size:1\r
                cluster_current_epoch:1\r
                cluster_my_epoch:1\r

                """)
        default:
            return .error("ERR unknown subcommand '\(Self.printable(tokens[1]))'. Kezek answers CLUSTER SLOTS, SHARDS, NODES, INFO, MYID, KEYSLOT.")
        }
        return out.reply
    }
}
