/// What a new holder of a shard does with the holder units before it serves (docs/SCALING.md,
/// "The holder limit across shards"): it raises the shard's fence on every master before it
/// loads, so no reserve or release of an older holder lands after its reading; once loaded,
/// it settles every unit the shard's index names and every seat or offer of the shard against
/// that state: a unit with no seat is removed, a seat with no unit gets one (past the limit if
/// need be), and claims left in flight are counted as the one the seat is.
extension HolderUnits {
    /// Raises `fence:<shard>` to `epoch` on every master (with WAIT when redis-replicas is set).
    func raiseFences(epoch: Int) throws {
        let topology = try currentTopology()
        for home in topology.shards {
            let redis = try Link(home.master, settings: settings).redis
            let fence = keys.fence(homeTag: ShardTag.forSlot(home.identitySlot), shard: shard)
            _ = try redis.command(["EVAL", HolderUnitScripts.raiseFence, "1", fence, String(epoch)])
            try waitForReplicas(redis)
        }
    }

    /// Settles the shard's units against `table` (just loaded). Returns how many units were
    /// removed and how many seats were given one.
    func settleUnits(of table: SeatTable, epoch: Int) throws -> (removed: Int, added: Int) {
        let topology = try currentTopology()
        var held = Set<String>()
        for provider in table.allProviders {
            let state = provider.snapshot()
            for holder in state.holders { held.insert(holder + " " + provider.id) }
            for offer in state.offers { held.insert(offer.holder + " " + provider.id) }
        }
        var links: [String: Link] = [:]
        func link(_ master: ServerSettings.Endpoint) throws -> Link {
            if let link = links[master.description] { return link }
            let link = try Link(master, settings: settings)
            links[master.description] = link
            return link
        }
        var indexed = Set<String>()
        for home in topology.shards {
            let index = keys.index(homeTag: ShardTag.forSlot(home.identitySlot), shard: shard)
            for entry in try link(home.master).redis.command(["SMEMBERS", index]).strings {
                indexed.insert(entry)
            }
        }
        var byMaster:
            [String: (
                master: ServerSettings.Endpoint, tag: String, entries: [(String, String, Bool)]
            )] = [:]
        for entry in held.union(indexed) {
            let parts = entry.split(separator: " ", maxSplits: 1).map(String.init)
            guard parts.count == 2,
                let home = topology.shard(ofSlot: HolderUnitKeys.homeSlot(of: parts[0]))
            else { continue }
            byMaster[
                home.master.description,
                default: (home.master, ShardTag.forSlot(home.identitySlot), [])
            ]
            .entries.append((parts[0], parts[1], held.contains(entry)))
        }
        for group in byMaster.values {
            let link = try link(group.master)
            for chunk in stride(from: 0, to: group.entries.count, by: Self.settleChunk) {
                let entries = group.entries[
                    chunk..<min(chunk + Self.settleChunk, group.entries.count)]
                for (holder, provider, seated) in entries {
                    link.redis.append([
                        "EVALSHA", link.settleSHA, "0", keys.units(holder: holder),
                        keys.index(homeTag: group.tag, shard: shard),
                        keys.fence(homeTag: group.tag, shard: shard),
                        holder, provider, String(epoch), seated ? "1" : "0",
                    ])
                }
                for _ in entries { _ = try link.redis.reply() }
            }
            try waitForReplicas(link.redis)
        }
        return (indexed.subtracting(held).count, held.subtracting(indexed).count)
    }

    /// Settle scripts sent in one pipeline at most.
    static let settleChunk = 10_000

    func currentTopology() throws -> ClusterTopology {
        guard let topology = primary.topology else {
            throw RedisSyncConnection.Failure(description: "no slot map read yet")
        }
        return topology
    }

    func waitForReplicas(_ redis: RedisSyncConnection) throws {
        guard settings.redisReplicas > 0 else { return }
        let timeout = String(max(Int(settings.writeTimeout * 1000), 1))
        guard
            case .integer(let acknowledged) = try redis.command([
                "WAIT", String(settings.redisReplicas), timeout,
            ]),
            acknowledged >= settings.redisReplicas
        else {
            throw RedisSyncConnection.Failure(
                description: "WAIT: the replicas do not have the holder units yet")
        }
    }
}
