import Logging

/// Loads every provider's state from Redis into the seat table, before data commands are
/// served, and settles what a crash may have left half done (see `Provider.restore`).
struct Recovery {
    let keys: KeyLayout
    let table: SeatTable
    let log: Logger
    /// Providers read per pipelined round trip.
    static let providersPerRoundTrip = 256

    struct Figures {
        var providers = 0
        var bookings = 0
        var waiting = 0
        var settlingWrites = 0
        var createdFromCatalog = 0
    }

    func load(from redis: RedisSyncConnection, catalog: [CatalogEntry]) throws -> Figures {
        var figures = Figures()
        warnAboutPersistence(redis)
        let ids = try redis.command(["SMEMBERS", keys.providers]).strings
        var settling: [MirrorWrite] = []
        var start = 0
        while start < ids.count {
            let chunk = ids[start..<min(start + Self.providersPerRoundTrip, ids.count)]
            for id in chunk {
                redis.append(["GET", keys.capacity(id)])
                redis.append(["SMEMBERS", keys.booked(id)])
                redis.append(["ZRANGE", keys.waiting(id), "0", "-1", "WITHSCORES"])
                redis.append(["GET", keys.refused(id)])
            }
            for id in chunk {
                let capacityValue = try redis.reply()
                let holders = try redis.reply().strings
                let scored = try redis.reply().strings
                let refused = try redis.reply().string.flatMap { Int($0) } ?? 0
                var capacity = capacityValue.string.flatMap { Int($0) } ?? holders.count
                if capacity < holders.count {
                    // Never drop an acknowledged booking: keep them all and say so.
                    log.error("provider holds more bookings than its capacity", metadata: ["provider": "\(id)", "capacity": "\(capacity)", "booked": "\(holders.count)"])
                    capacity = holders.count
                }
                var waiting: [(holder: String, score: Int)] = []
                waiting.reserveCapacity(scored.count / 2)
                var index = 0
                while index + 1 < scored.count {
                    waiting.append((scored[index], Int(Double(scored[index + 1]) ?? 0)))
                    index += 2
                }
                let provider = table.providerCreatingIfNeeded(id, capacity: capacity).provider
                settling += provider.restore(capacity: capacity, holders: holders, waiting: waiting, refused: refused, rules: table.rules)
                figures.providers += 1
                figures.bookings += holders.count
                figures.waiting += waiting.count
            }
            start += chunk.count
        }
        for entry in catalog where table.provider(entry.provider) == nil {
            let provider = table.providerCreatingIfNeeded(entry.provider, capacity: entry.capacity).provider
            settling.append(MirrorWrite(provider: provider, op: .capacity(entry.capacity), ticket: nil, madeAt: 0))
            figures.createdFromCatalog += 1
        }
        figures.settlingWrites = settling.count
        if !settling.isEmpty {
            var encoder = MirrorBatchEncoder(keys: keys)
            encoder.encode(settling[...])
            redis.append(encoded: encoder.bytes, ends: encoder.commandEnds)
            for _ in encoder.commandEnds { _ = try redis.reply() }
        }
        return figures
    }

    /// A crash of Redis itself loses acknowledged bookings unless every write is fsynced.
    private func warnAboutPersistence(_ redis: RedisSyncConnection) {
        guard let appendonly = try? redis.command(["CONFIG", "GET", "appendonly"]).strings.last,
              let appendfsync = try? redis.command(["CONFIG", "GET", "appendfsync"]).strings.last else {
            log.warning("cannot read Redis persistence settings (CONFIG GET refused); make sure appendonly is yes and appendfsync always")
            return
        }
        if appendonly != "yes" || appendfsync != "always" {
            log.warning("Redis may lose acknowledged bookings if Redis itself crashes",
                        metadata: ["appendonly": "\(appendonly)", "appendfsync": "\(appendfsync)", "safe": "appendonly yes, appendfsync always"])
        }
    }
}
