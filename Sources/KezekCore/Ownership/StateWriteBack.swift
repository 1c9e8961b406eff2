import Logging

/// Writes every provider's whole state to Redis, replacing what Redis holds for it: the repair
/// after Redis lost data. Runs under a fresh epoch that fences every older batch, while the
/// loops make no new writes, so nothing else changes these keys meanwhile.
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
    func write(_ providers: [Provider], to redis: RedisSyncConnection, between: () throws -> Void) throws -> Figures {
        var figures = Figures()
        var start = 0
        while start < providers.count {
            let chunk = providers[start..<min(start + Self.providersPerRoundTrip, providers.count)]
            var commands = 0
            for provider in chunk {
                let state = provider.snapshot()
                let id = provider.id
                var command = ["MULTI"]
                redis.append(command)
                redis.append(["SADD", keys.providers, id])
                redis.append(["SET", keys.capacity(id), String(state.capacity)])
                redis.append(["SET", keys.refused(id), String(state.refused)])
                redis.append(["DEL", keys.booked(id), keys.waiting(id)])
                commands += 5
                for members in stride(from: 0, to: state.holders.count, by: MirrorBatchEncoder.maxMembersPerCommand) {
                    redis.append(["SADD", keys.booked(id)] + state.holders[members..<min(members + MirrorBatchEncoder.maxMembersPerCommand, state.holders.count)])
                    commands += 1
                }
                for entries in stride(from: 0, to: state.waiting.count, by: MirrorBatchEncoder.maxMembersPerCommand) {
                    command = ["ZADD", keys.waiting(id)]
                    for entry in state.waiting[entries..<min(entries + MirrorBatchEncoder.maxMembersPerCommand, state.waiting.count)] {
                        command.append(String(entry.score))
                        command.append(entry.holder)
                    }
                    redis.append(command)
                    commands += 1
                }
                redis.append(["EXEC"])
                commands += 1
                figures.providers += 1
                figures.bookings += state.holders.count
                figures.waiting += state.waiting.count
            }
            for _ in 0..<commands { _ = try redis.reply() }
            start += chunk.count
            try between()
        }
        return figures
    }
}
