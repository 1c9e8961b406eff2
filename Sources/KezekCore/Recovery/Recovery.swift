import Glibc
import Logging
import Synchronization

/// Loads every provider's state from Redis into the seat table, before data commands are
/// served, and settles what a crash may have left half done (see `Provider.restore`).
struct Recovery {
    let keys: KeyLayout
    let table: SeatTable
    let log: Logger
    /// Providers read per pipelined round trip.
    static let providersPerRoundTrip = 256
    /// More connections to read providers on at once, a thread each: a cold start's replies
    /// are parsed and restored on every core, not one.
    var parallelReaders: [RedisSyncConnection] = []

    struct Figures {
        var providers = 0
        var bookings = 0
        var waiting = 0
        var settlingWrites = 0
        var offers = 0
        var rounds = 0
        var createdFromCatalog = 0
        /// Provider entries skipped for bad data.
        var skipped = 0
        /// Providers whose capacity in Redis was missing or not a number, written back.
        var capacitiesRepaired = 0
        /// Providers holding more bookings and offers than their capacity (kept).
        var oversold = 0
        /// `booked-batches` fields naming a run in the audit log that the log does not hold.
        var runsNotInTheLog = 0
        /// Providers read with round tags, or with seats free and holders waiting: the only
        /// ones the passes after the readers (round placements, promotions) can change.
        var mayNeedSettling: [Provider] = []

        /// Adds what another reader's share of the providers counted.
        mutating func addReading(_ share: Figures) {
            providers += share.providers
            bookings += share.bookings
            waiting += share.waiting
            offers += share.offers
            skipped += share.skipped
            capacitiesRepaired += share.capacitiesRepaired
            oversold += share.oversold
            runsNotInTheLog += share.runsNotInTheLog
            mayNeedSettling += share.mayNeedSettling
        }
    }

    /// Loads under the lease's `epoch` (the steps it logs carry it): every provider, or, after
    /// a warm standby's takeover, only `changed` ones and those the table lacks (the others
    /// are as the standby last read them; their refused counts are read again).
    func load(
        from redis: RedisSyncConnection, catalog: [CatalogEntry], epoch: Int,
        changed: Set<String>? = nil
    ) throws -> Figures {
        var figures = Figures()
        warnAboutPersistence(redis)
        let ids = try redis.command(["SMEMBERS", keys.providers]).strings
        var settling: [MirrorWrite]
        // The providers the passes below visit: into an empty table, only those the readers
        // found may need them (at 100x the city, two locked passes over all 100,000 providers
        // with nothing to do took 0.29 s after the readers); else every one, as the table may
        // hold more than this load read.
        let settleable: [Provider]
        if let changed {
            let reread = ids.filter { changed.contains($0) || table.provider($0) == nil }
            settling = try restoreInParallel(reread, first: redis, figures: &figures)
            try readRefusedCounts(ids.filter { !changed.contains($0) }, from: redis)
            settleable = table.allProviders
        } else {
            let intoEmptyTable = table.providerCount == 0
            settling = try restoreInParallel(ids, first: redis, figures: &figures)
            settleable = intoEmptyTable ? figures.mayNeedSettling : table.allProviders
        }
        if let rounds = table.rules.rounds {
            figures.rounds = try RoundRecovery(keys: keys, registry: rounds, log: log).load(
                from: redis)
            settling += RoundRecovery.settlePlacements(
                settleable, table: table, registry: rounds)
        }
        // Seats found free go to the waitlists once every round placement is known (a
        // placement settled away frees a seat only where the holder had a tag).
        for provider in settleable {
            settling += provider.promoteAfterRecovery(rules: table.rules)
        }
        for entry in catalog where table.provider(entry.provider) == nil {
            let provider = table.providerCreatingIfNeeded(entry.provider, capacity: entry.capacity)
                .provider
            settling.append(
                MirrorWrite(
                    provider: provider, op: .capacity(entry.capacity), ticket: nil, madeAt: 0))
            settling.append(
                MirrorWrite(
                    provider: provider, op: .auditCapacity(entry.capacity), ticket: nil, madeAt: 0))
            figures.createdFromCatalog += 1
        }
        figures.settlingWrites = settling.count
        if !settling.isEmpty {
            var encoder = MirrorBatchEncoder(keys: keys)
            encoder.encode(settling[...], epoch: epoch)
            redis.append(encoded: encoder.bytes, ends: encoder.commandEnds)
            for _ in encoder.commandEnds { _ = try redis.reply() }
        }
        if case .integer(0) = try redis.command(["EXISTS", keys.auditLog]) {
            try startLog(on: redis, epoch: epoch, loadedFrom: ids)
        } else {
            try logSettling(settling, on: redis, epoch: epoch)
        }
        return figures
    }

    // MARK: Reading providers

    /// Reads `ids` from Redis, `providersPerRoundTrip` per pipelined round trip, and restores
    /// each into the table (created when new, replaced when known); returns the writes that
    /// settle what a crash left half done. For a standby's reads, while a holder writes: each
    /// round trip is bracketed by the audit log's position, noted in `windows` for its
    /// providers (`LogReadWindows`).
    func restore(
        _ ids: [String], from redis: RedisSyncConnection, figures: inout Figures,
        windows: inout LogReadWindows
    ) throws -> [MirrorWrite] {
        try restore(
            Chunks(ids), from: redis, figures: &figures, windows: &windows, bracketed: true)
    }

    /// `restore` under the lease (nobody else writes): no bracketing, no windows.
    private func restore(_ chunks: Chunks, from redis: RedisSyncConnection, figures: inout Figures)
        throws -> [MirrorWrite]
    {
        var unused = LogReadWindows()
        return try restore(
            chunks, from: redis, figures: &figures, windows: &unused, bracketed: false)
    }

    /// Provider ids handed out `providersPerRoundTrip` at a time, to one reader or shared by
    /// several: each takes the next chunk when it is ready for one, so none sits idle while
    /// another still has a share to read.
    private final class Chunks: Sendable {
        private let ids: [String]
        private let taken = Atomic<Int>(0)

        init(_ ids: [String]) { self.ids = ids }

        func next() -> ArraySlice<String>? {
            let start = taken.wrappingAdd(providersPerRoundTrip, ordering: .relaxed).oldValue
            guard start < ids.count else { return nil }
            return ids[start..<min(start + providersPerRoundTrip, ids.count)]
        }
    }

    private func restore(
        _ chunks: Chunks, from redis: RedisSyncConnection, figures: inout Figures,
        windows: inout LogReadWindows, bracketed: Bool
    ) throws -> [MirrorWrite] {
        var settling: [MirrorWrite] = []
        // Providers with runs in the log, and the entries asked for them: the entries'
        // replies come after the next chunk's, so these are restored one chunk later.
        var waitingForLog: [ProviderReads] = []
        var entriesAsked: [String] = []
        var next = chunks.next()
        if let next { appendReads(of: next, to: redis, bracketed: bracketed) }
        while let chunk = next {
            // The next chunk's reads go out before this one's replies are restored, so Redis
            // answers them meanwhile: one chunk at a time left each side idle half the load.
            next = chunks.next()
            if let next { appendReads(of: next, to: redis, bracketed: bracketed) }
            let before = bracketed ? Self.logPosition(try redis.replyOrError()) : .start
            var asking: [ProviderReads] = []
            for id in chunk {
                let reads = ProviderReads(
                    id: id, capacity: try redis.replyOrError(),
                    waiting: try redis.flatReplyOrError(), booked: try redis.flatReplyOrError(),
                    batches: try redis.flatReplyOrError(), refused: try redis.replyOrError(),
                    offers: try redis.flatReplyOrError(), tags: try redis.flatReplyOrError())
                if reads.hasRunsInTheLog {
                    asking.append(reads)
                } else {
                    restoreOne(reads, settling: &settling, figures: &figures)
                }
            }
            if bracketed {
                windows.note(
                    chunk, .init(before: before, after: Self.logPosition(try redis.replyOrError())))
            }
            try restoreWithRuns(
                waitingForLog, entries: entriesAsked, from: redis, settling: &settling,
                figures: &figures)
            waitingForLog = asking
            entriesAsked = askForEntries(of: asking, on: redis)
        }
        try restoreWithRuns(
            waitingForLog, entries: entriesAsked, from: redis, settling: &settling,
            figures: &figures)
        return settling
    }

    /// One provider's reads, kept while the log entries its runs name are read.
    private struct ProviderReads {
        let id: String
        let capacity: RedisValue
        let waiting: FlatReply
        let booked: FlatReply
        var batches: FlatReply
        let refused: RedisValue
        let offers: FlatReply
        let tags: FlatReply

        /// Whether a field of its batches' hash names a run in the log (`BookedBatches`).
        var hasRunsInTheLog: Bool {
            guard case .strings(let items) = batches else { return false }
            return stride(from: 1, to: items.count, by: 2).contains {
                BookedBatches.LogPlace.isMeant(items[$0])
            }
        }
    }

    /// Asks for every log entry that `providers`' runs name, once each; returns their ids in
    /// the order asked.
    private func askForEntries(of providers: [ProviderReads], on redis: RedisSyncConnection)
        -> [String]
    {
        var asked: [String] = []
        var seen = Set<String>()
        for reads in providers {
            guard case .strings(let items) = reads.batches else { continue }
            for index in stride(from: 1, to: items.count, by: 2) {
                guard let place = BookedBatches.LogPlace(items[index]),
                    seen.insert(place.entry).inserted
                else { continue }
                redis.append(["XRANGE", keys.auditLog, place.entry, place.entry])
                asked.append(place.entry)
            }
        }
        return asked
    }

    /// Reads the entries asked for `providers`, puts each run's holders in its field, and
    /// restores them. A run whose entry is gone or does not list it is logged and left out.
    private func restoreWithRuns(
        _ providers: [ProviderReads], entries: [String], from redis: RedisSyncConnection,
        settling: inout [MirrorWrite], figures: inout Figures
    ) throws {
        var fieldsOf: [String: [String]] = [:]
        for entry in entries {
            let reply = try redis.replyOrError()
            if case .array(let found) = reply, let first = found.first,
                case .array(let pair) = first, pair.count == 2
            {
                fieldsOf[entry] = pair[1].strings
            }
        }
        for var reads in providers {
            guard case .strings(let items) = reads.batches else { continue }
            var resolved: [String] = []
            resolved.reserveCapacity(items.count)
            for index in stride(from: 0, to: items.count - 1, by: 2) {
                let value = items[index + 1]
                guard BookedBatches.LogPlace.isMeant(value) else {
                    resolved += [items[index], value]
                    continue
                }
                if let place = BookedBatches.LogPlace(value),
                    let holders = fieldsOf[place.entry].flatMap({
                        place.holders(inEntry: $0, provider: reads.id)
                    })
                {
                    resolved += [items[index], holders]
                } else {
                    log.error(
                        "bad data in redis: booked-batches field names a run of bookings in the audit log that the log does not hold (was the log deleted or trimmed?); those bookings are not restored",
                        metadata: [
                            "key": "\(keys.bookedBatches(reads.id))", "member": "\(items[index])",
                            "value": "\(value)", "log": "\(keys.auditLog)",
                        ])
                    figures.runsNotInTheLog += 1
                }
            }
            reads.batches = .strings(resolved)
            restoreOne(reads, settling: &settling, figures: &figures)
        }
    }

    /// Restores one provider from its reads into the table.
    private func restoreOne(
        _ reads: ProviderReads, settling: inout [MirrorWrite], figures: inout Figures
    ) {
        let id = reads.id
        guard Identifier.isValid(id) else {
            log.error(
                "bad data in redis: provider id is not a valid id; skipped",
                metadata: ["key": "\(keys.providers)", "member": "\(id)"])
            figures.skipped += 1
            return
        }
        let (holders, batched) = checkedBookings(
            reads.booked, reads.batches, setKey: keys.booked(id),
            batchesKey: keys.bookedBatches(id))
        var (waiting, rescore) = checkedWaitlist(reads.waiting, key: keys.waiting(id))
        let refused = checkedCount(reads.refused, key: keys.refused(id)) ?? 0
        let offers = checkedOffers(reads.offers, key: keys.offers(id))
        let tags = checkedTags(reads.tags, key: keys.roundTags(id))
        let held = holders.count + offers.count
        let found = checkedCapacity(reads.capacity, key: keys.capacity(id), held: held)
        let capacity = found ?? held
        if capacity < held {
            // Never drop an acknowledged booking, nor book past the capacity Redis
            // holds: all are kept, and nobody is booked here until they fall below it.
            log.error(
                "provider holds more bookings and offers than its capacity: all kept, none added until below it",
                metadata: [
                    "provider": "\(id)", "capacity": "\(capacity)",
                    "booked": "\(holders.count)",
                    "offered": "\(offers.count)", "over": "\(held - capacity)",
                ])
            figures.oversold += 1
        }
        waiting = Self.merged(waiting, tags.drawn.places, rescore: rescore)
        if rescore {
            // Scores that are not whole numbers in range: keep Redis's order, number it afresh.
            for index in waiting.indices { waiting[index].score = index }
        }
        let provider = table.providerCreatingIfNeeded(id, capacity: capacity).provider
        if batched { provider.noteBookedBatches() }
        settling += provider.restore(
            capacity: capacity, holders: holders, waiting: waiting, refused: refused,
            offers: offers, tags: tags.tags, tagFields: tags.ownFields,
            drawnPlaces: tags.drawn.found,
            highestScore: tags.drawn.highest,
            rewriteWaitlist: rescore, rules: table.rules, promoting: false)
        // Conservative: dropped offers and seated waiters only shrink what this says.
        if !tags.tags.isEmpty || (!waiting.isEmpty && capacity > holders.count) {
            figures.mayNeedSettling.append(provider)
        }
        if found == nil {
            // Redis gets the capacity served, so the two never disagree.
            settling.append(
                MirrorWrite(
                    provider: provider, op: .capacity(capacity), ticket: nil, madeAt: 0))
            settling.append(
                MirrorWrite(
                    provider: provider, op: .auditCapacity(capacity), ticket: nil, madeAt: 0
                ))
            figures.capacitiesRepaired += 1
        }
        figures.offers += offers.count
        figures.providers += 1
        figures.bookings += holders.count
        figures.waiting += waiting.count
    }

    /// Pipelines the reads of `chunk`'s providers, bracketed by the log's position when asked.
    private func appendReads(
        of chunk: ArraySlice<String>, to redis: RedisSyncConnection, bracketed: Bool
    ) {
        let positionRead = ["MGET", keys.leaseEpoch, keys.logSteps]
        if bracketed { redis.append(positionRead) }
        for id in chunk {
            redis.append(["GET", keys.capacity(id)])
            redis.append(["ZRANGE", keys.waiting(id), "0", "-1", "WITHSCORES"])
            redis.append(["SMEMBERS", keys.booked(id)])
            redis.append(["HGETALL", keys.bookedBatches(id)])
            redis.append(["GET", keys.refused(id)])
            redis.append(["HGETALL", keys.offers(id)])
            redis.append(["HGETALL", keys.roundTags(id)])
        }
        if bracketed { redis.append(positionRead) }
    }

    /// The log's position from `MGET` of the lease's epoch and the log's step counter (one
    /// command, so the two agree: a new epoch resets the counter).
    private static func logPosition(_ value: RedisValue) -> LogPosition {
        let numbers = value.items.map { $0.string.flatMap { Int($0) } ?? 0 }
        guard numbers.count == 2 else { return .start }
        return LogPosition(epoch: numbers[0], seq: numbers[1])
    }

    /// `restore` of `ids` shared by `first` and `parallelReaders`, a thread each.
    private func restoreInParallel(
        _ ids: [String], first: RedisSyncConnection, figures: inout Figures
    ) throws -> [MirrorWrite] {
        let readers = [first] + parallelReaders
        let chunks = Chunks(ids)
        guard readers.count > 1, ids.count >= 2 * Self.providersPerRoundTrip else {
            return try restore(chunks, from: first, figures: &figures)
        }
        final class Share: @unchecked Sendable {  // written by its thread, read after the join
            var figures = Figures()
            var settling: [MirrorWrite] = []
            var failure: Error?
        }
        let shares = readers.map { _ in Share() }
        let threads = readers.indices.map { index in
            NativeThread.start {
                let share = shares[index]
                do {
                    share.settling = try restore(
                        chunks, from: readers[index], figures: &share.figures)
                } catch {
                    share.failure = error
                }
            }
        }
        for thread in threads { pthread_join(thread, nil) }
        var settling: [MirrorWrite] = []
        for share in shares {
            if let failure = share.failure { throw failure }
            settling += share.settling
            figures.addReading(share.figures)
        }
        return settling
    }

    /// The refused counts of providers the table holds already (a takeover's), as Redis has
    /// them: they change without an entry in the audit log.
    private func readRefusedCounts(_ ids: [String], from redis: RedisSyncConnection) throws {
        for start in stride(from: 0, to: ids.count, by: 4 * Self.providersPerRoundTrip) {
            let chunk = ids[start..<min(start + 4 * Self.providersPerRoundTrip, ids.count)]
            for id in chunk { redis.append(["GET", keys.refused(id)]) }
            for id in chunk {
                let value = try redis.replyOrError()
                table.provider(id)?.restoreRefused(checkedCount(value, key: keys.refused(id)) ?? 0)
            }
        }
    }

    // MARK: The audit log

    /// Settling's changes, as one step of the log (more where one call cannot carry them).
    private func logSettling(_ settling: [MirrorWrite], on redis: RedisSyncConnection, epoch: Int)
        throws
    {
        let fields = settling.flatMap { AuditLog.field($0.op, provider: $0.provider.id) }
        try send(AuditLog.stepCommands(keys: keys, epoch: epoch, fields: fields), on: redis)
    }

    /// No audit log yet over the state just loaded (a Redis written by a release that kept one
    /// stream per provider, or a log deleted by hand): the new log starts with steps that
    /// record that state from empty, one per provider, so replaying it rebuilds what this
    /// daemon serves. Old per-provider streams are left alone (README says how to delete them).
    private func startLog(on redis: RedisSyncConnection, epoch: Int, loadedFrom ids: [String])
        throws
    {
        let providers = table.allProviders
        guard !providers.isEmpty else { return }
        var steps: [[String]] = []
        for provider in providers {
            steps += AuditLog.stepCommands(
                keys: keys, epoch: epoch,
                fields: AuditLog.baseFields(provider: provider.id, provider.snapshot()))
        }
        try send(steps, on: redis)
        let sample = ids.prefix(64)
        for id in sample { redis.append(["EXISTS", keys.legacyAudit(id)]) }
        var legacy = 0
        for _ in sample { if case .integer(1) = try redis.reply() { legacy += 1 } }
        let message: Logger.Message =
            legacy > 0
            ? "audit log started over the loaded state; the old per-provider audit streams are left alone (README, \"Transparency\", says how to delete them)"
            : "audit log started over the loaded state"
        log.notice(
            message,
            metadata: [
                "log": "\(keys.auditLog)", "providers": "\(providers.count)",
                "steps": "\(steps.count)",
            ])
    }

    /// Pipelines `commands`, a round trip per `providersPerRoundTrip` of them.
    private func send(_ commands: [[String]], on redis: RedisSyncConnection) throws {
        for start in stride(from: 0, to: commands.count, by: Self.providersPerRoundTrip) {
            let chunk = commands[start..<min(start + Self.providersPerRoundTrip, commands.count)]
            for command in chunk { redis.append(command) }
            for _ in chunk { _ = try redis.reply() }
        }
    }

    // MARK: Checking what Redis holds

    /// Offers as a hash of holder -> expiry (Unix milliseconds); anything else is logged and left out.
    private func checkedOffers(_ value: FlatReply, key: String) -> [(
        holder: String, expiresAt: Int
    )] {
        checkedPairs(value, key: key).compactMap { holder, text in
            guard let expiresAt = Int(text), expiresAt >= 0 else {
                log.error(
                    "bad data in redis: offer expiry is not a whole number; offer dropped",
                    metadata: ["key": "\(key)", "member": "\(holder)"])
                return nil
            }
            return (holder, expiresAt)
        }
    }

    /// Round tags: draws' parts and holders' own fields, and the waitlist places draws made
    /// (`RoundTagFields`); anything else is logged and left out.
    private func checkedTags(_ value: FlatReply, key: String) -> (
        tags: [String: RoundTag], ownFields: Set<String>,
        drawn: (places: [(holder: String, score: Int)], highest: Int?, found: Bool)
    ) {
        guard let items = checkedStrings(value, key: key, expected: "a hash") else {
            return ([:], [], ([], nil, false))
        }
        let pairs = Self.fieldValuePairs(items)
        let bad = { (field: String) in
            log.error(
                "bad data in redis: round tag is not '<round> <rank>', '-', a draw's part or its places; ignored",
                metadata: ["key": "\(key)", "member": "\(field)"])
        }
        let (tags, ownFields) = RoundTagFields.decode(pairs, bad: bad)
        return (tags, ownFields, RoundTagFields.drawnPlaces(pairs, bad: bad))
    }

    /// The sorted set's waiting holders with the live places of draws' fields (the sorted set
    /// wins for a holder in both), in score order; with `rescore`, the sorted set's order and
    /// the fields' places after it.
    static func merged(
        _ waiting: [(holder: String, score: Int)], _ drawn: [(holder: String, score: Int)],
        rescore: Bool
    ) -> [(holder: String, score: Int)] {
        guard !drawn.isEmpty else { return waiting }
        let inSortedSet = Set(waiting.lazy.map(\.holder))
        var all = waiting
        all.append(contentsOf: drawn.lazy.filter { !inSortedSet.contains($0.holder) })
        if rescore {
            all[waiting.count...].sort { $0.score < $1.score }
            return all
        }
        // By score, ties in the order read (only bad data has ties).
        return all.enumerated().sorted {
            ($0.element.score, $0.offset) < ($1.element.score, $1.offset)
        }
        .map(\.element)
    }

    /// A hash's field/value pairs whose field is a valid id.
    func checkedPairs(_ value: FlatReply, key: String) -> [(String, String)] {
        guard let items = checkedStrings(value, key: key, expected: "a hash") else { return [] }
        var pairs: [(String, String)] = []
        pairs.reserveCapacity(items.count / 2)
        var index = 0
        while index + 1 < items.count {
            defer { index += 2 }
            guard Identifier.isValid(items[index]) else {
                log.error(
                    "bad data in redis: hash field is not a valid id; ignored",
                    metadata: ["key": "\(key)"])
                continue
            }
            pairs.append((items[index], items[index + 1]))
        }
        return pairs
    }

    /// The strings of a set, sorted set or hash reply; nil (logged unless the key is missing)
    /// for anything else.
    private func checkedStrings(_ value: FlatReply, key: String, expected: String) -> [String]? {
        switch value {
        case .strings(let items): return items
        case .other(.null): return nil
        case .other(.array(let items)):
            // Some element is not a string: the strings kept, the rest logged and left out.
            log.error(
                "bad data in redis: \(expected) holds an element that is not a string; ignored",
                metadata: ["key": "\(key)"])
            return items.compactMap(\.string)
        case .other(let other):
            log.error(
                "bad data in redis: expected \(expected); ignored",
                metadata: ["key": "\(key)", "reply": "\(other.summary)"])
            return nil
        }
    }

    /// Every booked holder once: the set's members and the live holders of the batches' hash
    /// (`BookedBatches`), and whether that hash has fields; anything else is logged and left out.
    private func checkedBookings(
        _ set: FlatReply, _ batches: FlatReply, setKey: String, batchesKey: String
    ) -> (holders: [String], batched: Bool) {
        let members = checkedMembers(set, key: setKey)
        guard let items = checkedStrings(batches, key: batchesKey, expected: "a hash"),
            !items.isEmpty
        else { return (members, false) }
        let pairs = Self.fieldValuePairs(items)
        let holders = BookedBatches.booked(set: members, batches: pairs) { field in
            log.error(
                "bad data in redis: booked-batches field is not '<epoch>.<sequence>.<group>' with holder ids, nor a mask; ignored",
                metadata: ["key": "\(batchesKey)", "member": "\(field)"])
        }
        return (holders, true)
    }

    /// A hash's reply items as field/value pairs.
    private static func fieldValuePairs(_ items: [String]) -> [(field: String, value: String)] {
        var pairs: [(field: String, value: String)] = []
        pairs.reserveCapacity(items.count / 2)
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            pairs.append((items[index], items[index + 1]))
        }
        return pairs
    }

    /// Set members that are valid holder ids; anything else is logged and left out.
    private func checkedMembers(_ value: FlatReply, key: String) -> [String] {
        guard var members = checkedStrings(value, key: key, expected: "a set") else { return [] }
        if !members.allSatisfy(Identifier.isValid) {
            log.error(
                "bad data in redis: member is not a valid holder id; ignored",
                metadata: ["key": "\(key)"])
            members.removeAll { !Identifier.isValid($0) }
        }
        return members
    }

    /// Waiting holders in Redis's order with their scores. `rescore` is true when a score is
    /// not a whole number that fits (inf, nan, 1e19, text): the caller numbers them afresh.
    private func checkedWaitlist(_ value: FlatReply, key: String) -> (
        waiting: [(holder: String, score: Int)], rescore: Bool
    ) {
        let flat = checkedStrings(value, key: key, expected: "a sorted set") ?? []
        var waiting: [(holder: String, score: Int)] = []
        waiting.reserveCapacity(flat.count / 2)
        var rescore = false
        var index = 0
        while index + 1 < flat.count {
            let holder = flat[index]
            let text = flat[index + 1]
            index += 2
            guard Identifier.isValid(holder) else {
                log.error(
                    "bad data in redis: waiting member is not a valid holder id; ignored",
                    metadata: ["key": "\(key)"])
                continue
            }
            if let whole = Int(text), whole > -Self.largestWholeScore,
                whole < Self.largestWholeScore
            {
                // The usual case, read without a floating-point parse (millions at a cold start).
                waiting.append((holder, whole))
            } else if let score = Double(text), score.isFinite, abs(score) < Self.largestScore,
                score == score.rounded()
            {
                waiting.append((holder, Int(score)))
            } else {
                log.error(
                    "bad data in redis: waitlist score out of range; order kept, scores renumbered",
                    metadata: ["key": "\(key)", "member": "\(holder)", "score": "\(text)"])
                rescore = true
                waiting.append((holder, 0))
            }
        }
        return (waiting, rescore)
    }

    /// Scores stay below 2^53, where a double still counts every whole number.
    static let largestScore = 9_007_199_254_740_992.0
    /// The same bound as a whole number.
    static let largestWholeScore = Int(largestScore)

    /// A provider's capacity: a whole number from 0 up. Missing or anything else (`lots`) is
    /// logged, and nil: the caller serves the `held` seats as the capacity and writes it back.
    private func checkedCapacity(_ value: RedisValue, key: String, held: Int) -> Int? {
        if let text = value.string, let capacity = Int(text), capacity >= 0 { return capacity }
        log.error(
            "bad data in redis: provider capacity missing or not a whole number from 0; the seats held taken as its capacity and written back (PROVIDER changes it)",
            metadata: ["key": "\(key)", "reply": "\(value.summary)", "capacity": "\(held)"])
        return nil
    }

    /// A count kept as a string: a whole number from 0 up, else nil (logged unless absent).
    private func checkedCount(_ value: RedisValue, key: String) -> Int? {
        if case .null = value { return nil }
        guard let text = value.string, let count = Int(text), count >= 0 else {
            log.error(
                "bad data in redis: expected a whole number from 0; ignored",
                metadata: ["key": "\(key)", "reply": "\(value.summary)"])
            return nil
        }
        return count
    }

    /// A crash of Redis itself loses acknowledged bookings unless every write is fsynced.
    private func warnAboutPersistence(_ redis: RedisSyncConnection) {
        guard let appendonly = try? redis.command(["CONFIG", "GET", "appendonly"]).strings.last,
            let appendfsync = try? redis.command(["CONFIG", "GET", "appendfsync"]).strings.last
        else {
            log.warning(
                "cannot read Redis persistence settings (CONFIG GET refused); make sure appendonly is yes and appendfsync always"
            )
            return
        }
        if appendonly != "yes" || appendfsync != "always" {
            log.warning(
                "Redis may lose acknowledged bookings if Redis itself crashes",
                metadata: [
                    "appendonly": "\(appendonly)", "appendfsync": "\(appendfsync)",
                    "safe": "appendonly yes, appendfsync always",
                ])
        }
    }
}
