/// A master that lost its data (FLUSHALL, a restart empty, a promoted replica without it) lost
/// the holder units and fences it kept for every shard, while the shards' own keys may be
/// elsewhere and whole: nobody else notices. Its reserve script refuses (`KZLOST`) while any
/// shard's fence is missing there; meanwhile each shard's serving holder, looking at its fence on
/// every master every `fenceCheckMillis`, puts back the units of its own seats homed on that
/// master and only then its fence. Once every shard has done so, that master grants again:
/// until then BOOKs of the holders homed there answer `-UNAVAILABLE`, never a seat past the
/// limit (docs/SCALING.md, "The holder limit across shards").
///
/// A fence older than this holder's epoch (a write-back after its own master lost data took a
/// new one) is raised the same way; units already there are kept as they are.
extension HolderUnits {
    /// How often the units thread looks at this shard's fence on every master.
    static let fenceCheckMillis = 250
    /// How long a master that did not answer is left alone before it is looked at again.
    static let fenceRetryMillis = 2_000

    /// On the units thread, while this daemon serves.
    func checkFences() {
        guard let table, state.ready.load(ordering: .acquiring),
            state.mayWrite(now: MonotonicClock.nanoseconds()),
            let topology = primary.topology
        else { return }
        let epoch = state.epoch.load(ordering: .acquiring)
        var stale: [(home: ClusterTopology.Shard, link: Link, missing: Bool)] = []
        let now = MonotonicClock.nanoseconds()
        for home in topology.shards {
            let address = home.master.description
            // A master that did not answer is asked again later, not at every look: connecting
            // to a dead host may take the write timeout, and reserves wait behind this.
            if let after = fenceCheckNotBefore[address], now < after { continue }
            do {
                let link = try links[address] ?? Link(home.master, settings: settings)
                links[address] = link
                let fence = keys.fence(homeTag: tag(ofShard: home.identitySlot), shard: shard)
                let value = try link.redis.command(["GET", fence]).string.flatMap { Int($0) }
                if let value, value >= epoch { continue }
                stale.append((home, link, value == nil))
            } catch {
                links[address] = nil
                fenceCheckNotBefore[address] = now + UInt64(Self.fenceRetryMillis) * 1_000_000
                fenceCheckFailed(error)
            }
        }
        guard !stale.isEmpty else { return }
        let seats = seatsByHome(table, topology: topology)
        for (home, link, missing) in stale {
            do {
                let entries = seats[home.identitySlot] ?? []
                try putBack(entries, at: home, link: link, epoch: epoch)
                if missing {
                    log.warning(
                        "holder units lost at a master: this shard's put back",
                        metadata: [
                            "master": "\(home.master)", "units": "\(entries.count)",
                            "epoch": "\(epoch)",
                        ])
                }
            } catch {
                links[home.master.description] = nil
                fenceCheckFailed(error)
            }
        }
    }

    /// "<holder> <provider>" of every seat and offer of this shard, and every grant still on
    /// its way to a seat, by the identity slot of the holder's home.
    private func seatsByHome(_ table: SeatTable, topology: ClusterTopology) -> [Int: [String]] {
        var entries = Set(grantsInFlight.withLock { Array($0.keys) })
        for provider in table.allProviders {
            let state = provider.snapshot()
            for holder in state.holders { entries.insert(holder + " " + provider.id) }
            for offer in state.offers { entries.insert(offer.holder + " " + provider.id) }
        }
        var byHome: [Int: [String]] = [:]
        for entry in entries {
            guard let holder = entry.split(separator: " ", maxSplits: 1).first,
                let home = topology.shard(ofSlot: HolderUnitKeys.homeSlot(of: String(holder)))
            else { continue }
            byHome[home.identitySlot, default: []].append(entry)
        }
        return byHome
    }

    /// The units first, then the fence: the master grants nothing before both are there.
    private func putBack(
        _ entries: [String], at home: ClusterTopology.Shard, link: Link, epoch: Int
    ) throws {
        let tag = tag(ofShard: home.identitySlot)
        let index = keys.index(homeTag: tag, shard: shard)
        let fence = keys.fence(homeTag: tag, shard: shard)
        for chunk in stride(from: 0, to: entries.count, by: Self.settleChunk) {
            let part = entries[chunk..<min(chunk + Self.settleChunk, entries.count)]
            for entry in part {
                let parts = entry.split(separator: " ", maxSplits: 1).map(String.init)
                link.redis.append([
                    "EVALSHA", link.settleSHA, "0", keys.units(holder: parts[0]), index, fence,
                    parts[0], parts[1], String(epoch), "2",
                ])
            }
            for _ in part { _ = try link.redis.reply() }
        }
        _ = try link.redis.command([
            "EVAL", HolderUnitScripts.raiseFence, "1", fence, String(epoch),
        ])
        try waitForReplicas(link.redis)
    }

    private func fenceCheckFailed(_ error: Error) {
        guard fenceFailureWarning.due() else { return }
        log.warning(
            "cannot look at this shard's holder-unit fences; trying again",
            metadata: ["error": "\(error)"])
    }
}
