import KezekDraw
import Logging

/// Loads the rounds from Redis at start (see `KeyLayout` for their keys), and settles what a
/// crash in the middle of a cascade may leave: a holder placed twice by one round keeps the
/// better-ranked place.
struct RoundRecovery {
    let keys: KeyLayout
    let registry: RoundRegistry
    let log: Logger

    /// Returns the number of rounds loaded.
    func load(from redis: RedisSyncConnection) throws -> Int {
        let phases = try redis.command(["HGETALL", keys.rounds]).strings
        var loaded = 0
        var index = 0
        while index + 1 < phases.count {
            defer { index += 2 }
            let id = phases[index]
            guard Identifier.isValid(id), let phase = Round.Phase(rawValue: phases[index + 1])
            else {
                log.error(
                    "bad data in redis: round entry ignored",
                    metadata: ["key": "\(keys.rounds)", "member": "\(id)"])
                continue
            }
            let meta = pairs(try redis.command(["HGETALL", keys.roundMeta(id)]).strings)
            guard let commitment = meta["commitment"],
                let choices = meta["choices"].flatMap(Int.init),
                choices >= 1, choices <= RankedChoice.maxChoices
            else {
                log.error(
                    "bad data in redis: round without commitment or choices; ignored",
                    metadata: ["round": "\(id)"])
                continue
            }
            var round = Round(
                id: id, commitment: commitment, choiceLimit: choices, phase: phase,
                openedAt: meta["opened-at"].flatMap(Int.init) ?? 0)
            for (holder, text) in pairs(
                try redis.command(["HGETALL", keys.roundApplications(id)]).strings)
            {
                guard Identifier.isValid(holder), let parsed = Round.decode(text) else {
                    log.error(
                        "bad data in redis: application ignored",
                        metadata: ["round": "\(id)", "holder": "\(holder)"])
                    continue
                }
                round.applications[holder] = parsed
            }
            if phase == .drawing || phase == .drawn {
                guard let seed = meta["seed"], let drawnAt = meta["drawn-at"].flatMap(Int.init)
                else {
                    log.error(
                        "bad data in redis: drawn round without its record; ignored",
                        metadata: ["round": "\(id)"])
                    continue
                }
                var free: [String: Int] = [:]
                for (provider, text) in pairs(
                    try redis.command(["HGETALL", keys.roundFreeSeats(id)]).strings)
                {
                    free[provider] = Int(text) ?? 0
                }
                let excluded = Set((meta["excluded"] ?? "").split(separator: " ").map(String.init))
                round.record = Round.DrawRecord(
                    seed: seed, drawnAt: drawnAt, freeSeats: free, excluded: excluded)
                round.outcome = Round.DrawCounts(
                    offered: meta["offered"].flatMap(Int.init) ?? 0,
                    waiting: meta["waiting"].flatMap(Int.init) ?? 0,
                    unplaced: meta["unplaced"].flatMap(Int.init) ?? 0)
            }
            registry.restore(round)
            loaded += 1
        }
        if keys.isShard {
            // Rounds of other shards holding this one (applied from its inbox).
            let foreign = try redis.command(["HKEYS", keys.foreignRounds]).strings
            let applied = try redis.command(["HGET", keys.inboxState, ShardInbox.appliedField])
                .string
            registry.restoreForeign(
                foreign.filter { Identifier.isValid($0) }.sorted(), inboxApplied: applied)
        }
        return loaded
    }

    private func pairs(_ flat: [String]) -> [String: String] {
        var result: [String: String] = [:]
        var index = 0
        while index + 1 < flat.count {
            result[flat[index]] = flat[index + 1]
            index += 2
        }
        return result
    }

    /// Rebuilds where each round placed each holder from the tags of `providers` (which must
    /// include every provider with tags); a holder placed twice by one round (a crash between
    /// a move's two steps) keeps the better rank, and the worse place is released. Returns the
    /// writes that settle it.
    static func settlePlacements(
        _ providers: [Provider], table: SeatTable, registry: RoundRegistry
    ) -> [MirrorWrite] {
        var best: [String: [String: RoundRegistry.Placement]] = [:]
        var worse: [(provider: Provider, holder: String, round: String)] = []
        for provider in providers {
            for (holder, tag, booked) in provider.roundPlacements() {
                let here = RoundRegistry.Placement(
                    rank: tag.rank, provider: provider.id, booked: booked)
                if let other = best[tag.round]?[holder] {
                    if other.rank <= tag.rank {
                        worse.append((provider, holder, tag.round))
                        continue
                    }
                    if let loser = table.provider(other.provider) {
                        worse.append((loser, holder, tag.round))
                    }
                }
                best[tag.round, default: [:]][holder] = here
            }
        }
        for (round, holders) in best {
            for (holder, placement) in holders {
                registry.recordPlacement(
                    round: round, holder: holder, rank: placement.rank, at: placement.provider,
                    booked: placement.booked)
            }
        }
        return worse.flatMap {
            $0.provider.releaseForRound(
                $0.holder, round: $0.round, rules: table.rules, sending: false, releasingLimit: true
            )
        }
    }
}
