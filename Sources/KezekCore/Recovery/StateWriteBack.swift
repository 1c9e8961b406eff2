import Logging

/// Writes every provider's whole state to Redis, replacing what Redis holds for it: the repair
/// after Redis lost data. Runs under a fresh epoch that fences every older batch, while the
/// loops make no new writes, so nothing else changes these keys meanwhile. The audit log is
/// replaced too: a new log whose first steps (one per provider) record the state written back,
/// from empty (PROTOCOL.md "Transparency"). The new log is written beside the old one and
/// takes its place only once every provider is written: until then the old log still holds
/// the runs of bookings that the providers not written yet name (BookedBatches).
struct StateWriteBack {
    let keys: KeyLayout
    let log: Logger
    /// Providers written per pipelined round trip.
    static let providersPerRoundTrip = 256

    struct Figures {
        var providers = 0
        var bookings = 0
        var waiting = 0
    }

    /// `between` runs between round trips (the keeper renews its lease there).
    func write(
        _ providers: [Provider], epoch: Int, to redis: RedisSyncConnection,
        between: () throws -> Void
    ) throws -> Figures {
        var figures = Figures()
        let newLog = keys.auditLogWriteBack
        _ = try redis.command(["DEL", newLog])
        var start = 0
        while start < providers.count {
            let chunk = providers[start..<min(start + Self.providersPerRoundTrip, providers.count)]
            var commands = 0
            for provider in chunk {
                let state = provider.snapshot()
                let id = provider.id
                var command = ["MULTI"]
                if keys.isShard {
                    // On Redis Cluster a transaction's keys must share one slot: the shard's
                    // providers set (a fact, idempotent) is written before the provider's MULTI.
                    redis.append(["SADD", keys.providers, id])
                    redis.append(command)
                } else {
                    redis.append(command)
                    redis.append(["SADD", keys.providers, id])
                }
                redis.append(["SET", keys.capacity(id), String(state.capacity)])
                redis.append(["SET", keys.refused(id), String(state.refused)])
                redis.append([
                    "DEL", keys.booked(id), keys.bookedBatches(id), keys.waiting(id),
                    keys.offers(id), keys.roundTags(id),
                ])
                commands += 5
                for offer in state.offers {
                    redis.append(["HSET", keys.offers(id), offer.holder, String(offer.expiresAt)])
                    commands += 1
                }
                // One part per round (RoundTagFields): the hash starts empty, so nothing is masked.
                for (round, entries) in Dictionary(grouping: state.tags, by: \.tag.round) {
                    let part = RoundTagFields.partValue(entries.map { ($0.holder, $0.tag.rank) })
                    redis.append([
                        "HSET", keys.roundTags(id), RoundTagFields.partField(round: round), part,
                    ])
                    commands += 1
                }
                for members in stride(
                    from: 0, to: state.holders.count, by: MirrorBatchEncoder.maxMembersPerCommand)
                {
                    redis.append(
                        ["SADD", keys.booked(id)]
                            + state.holders[
                                members..<min(
                                    members + MirrorBatchEncoder.maxMembersPerCommand,
                                    state.holders.count)])
                    commands += 1
                }
                for entries in stride(
                    from: 0, to: state.waiting.count, by: MirrorBatchEncoder.maxMembersPerCommand)
                {
                    command = ["ZADD", keys.waiting(id)]
                    for entry in state.waiting[
                        entries..<min(
                            entries + MirrorBatchEncoder.maxMembersPerCommand, state.waiting.count)]
                    {
                        command.append(String(entry.score))
                        command.append(entry.holder)
                    }
                    redis.append(command)
                    commands += 1
                }
                redis.append(["EXEC"])
                // Outside the provider's MULTI: on Redis Cluster the log is in the shard's slot.
                let steps = AuditLog.stepCommands(
                    keys: keys, epoch: epoch, fields: AuditLog.baseFields(provider: id, state),
                    log: newLog)
                for step in steps { redis.append(step) }
                commands += 1 + steps.count
                provider.logged(through: state.made)
                figures.providers += 1
                figures.bookings += state.holders.count
                figures.waiting += state.waiting.count
            }
            for _ in 0..<commands { _ = try redis.reply() }
            start += chunk.count
            try between()
        }
        // One command: the old log is never gone while the new one is not in place.
        _ = try redis.command(
            figures.providers > 0 ? ["RENAME", newLog, keys.auditLog] : ["DEL", keys.auditLog])
        return figures
    }

    /// Writes every round back (state, record, applications), in one MULTI per round.
    func write(_ rounds: [Round], to redis: RedisSyncConnection) throws {
        for round in rounds {
            let id = round.id
            var commands: [[String]] = [
                ["MULTI"],
                ["DEL", keys.roundMeta(id), keys.roundApplications(id), keys.roundFreeSeats(id)],
            ]
            var meta = [
                "HSET", keys.roundMeta(id), "commitment", round.commitment, "choices",
                String(round.choiceLimit),
                "opened-at", String(round.openedAt),
            ]
            if let record = round.record, let outcome = round.outcome {
                meta += [
                    "seed", record.seed, "drawn-at", String(record.drawnAt), "excluded",
                    record.excluded.sorted().joined(separator: " "),
                    "offered", String(outcome.offered), "waiting", String(outcome.waiting),
                    "unplaced", String(outcome.unplaced),
                ]
                if !record.freeSeats.isEmpty {
                    commands.append(
                        ["HSET", keys.roundFreeSeats(id)]
                            + record.freeSeats.flatMap { [$0.key, String($0.value)] })
                }
            }
            commands.append(meta)
            for chunk in stride(
                from: 0, to: round.applications.count, by: MirrorBatchEncoder.maxMembersPerCommand)
            {
                let slice = round.applications.sorted { $0.key < $1.key }[
                    chunk..<min(
                        chunk + MirrorBatchEncoder.maxMembersPerCommand, round.applications.count)]
                commands.append(
                    ["HSET", keys.roundApplications(id)]
                        + slice.flatMap { [$0.key, Round.encode($0.value)] })
            }
            // A draw being written is written back as drawing: a re-sent DRAW finishes it.
            let phase =
                round.phase == .drawn
                ? Round.Phase.drawn : round.record != nil ? .drawing : round.phase
            commands.append(["HSET", keys.rounds, id, phase.rawValue])
            commands.append(["EXEC"])
            for command in commands { redis.append(command) }
            for _ in commands { _ = try redis.reply() }
        }
    }

    /// Writes back the rounds of other shards holding this one and the last inbox message
    /// applied (Redis Cluster), in one MULTI.
    func writeForeign(
        _ state: (rounds: [String], inboxApplied: String?), to redis: RedisSyncConnection
    ) throws {
        var commands: [[String]] = [["MULTI"], ["DEL", keys.foreignRounds, keys.inboxState]]
        if !state.rounds.isEmpty {
            commands.append(
                ["HSET", keys.foreignRounds] + state.rounds.flatMap { [$0, ShardInbox.frozen] })
        }
        if let applied = state.inboxApplied {
            commands.append(["HSET", keys.inboxState, ShardInbox.appliedField, applied])
        }
        commands.append(["EXEC"])
        for command in commands { redis.append(command) }
        for _ in commands { _ = try redis.reply() }
    }

}
