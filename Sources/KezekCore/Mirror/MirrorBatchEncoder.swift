/// Turns a batch of writes into RESP for hiredis: either one fenced script call that Redis
/// applies all or nothing (`encodeFenced`, the group commit of the loops), with the batch's
/// one entry in the audit log, or plain commands (`encode`, for recovery's settling, which
/// runs while this daemon holds the lease and nothing else writes; it logs its step itself,
/// and its audit writes are left out here).
///
/// Consecutive writes of one kind to one provider become a single command (`ZREM key h1 h2 …`),
/// which Redis executes much faster than one command per write; order between different kinds
/// or providers is kept as made. A run of `BookedBatches.fieldFrom` bookings or more becomes
/// one field of the provider's `booked-batches` hash instead, named by the batch's id; in a
/// fenced batch on a lone Redis its value names where the batch's log entry lists the run's
/// holders, so each booking's holder is written once (BookedBatches, "Runs in the log").
public struct MirrorBatchEncoder {
    public let keys: KeyLayout
    /// Members per command at most, to keep single commands small (and within Lua's unpack).
    public static let maxMembersPerCommand = 512

    /// The encoded commands, back to back; `commandEnds[i]` is where command i ends.
    public private(set) var bytes: [UInt8] = []
    public private(set) var commandEnds: [Int] = []

    /// One Redis command of the batch: a verb, a key and the items of a run of writes
    /// (members, score/member pairs, field/value pairs, or one value for SET).
    private struct Group {
        var verb: Verb
        var key: String
        /// Positions in the batch; for the log's group, positions in `logged`.
        var run: Range<Int>
        var itemCount: Int
        /// SET's value, or the member of the `providers` SADD that comes with a capacity.
        var value: String?
        /// The id of a `booked-batches` command (`BookedBatches.ID`): the field of its run's
        /// bookings, or the value of its run's masks.
        var batchID: String?
        /// The members themselves, when they are not every write of `run`.
        var members: [String]? = nil
    }

    private enum Verb {
        /// `bookedRun`: a run's `booked-batches` field whose holders are in the log entry.
        case sadd, srem, zadd, zrem, set, hset, hdel, log, bookedRun
        var name: String {
            switch self {
            case .sadd: "SADD"
            case .srem: "SREM"
            case .zadd: "ZADD"
            case .zrem: "ZREM"
            case .set: "SET"
            case .hset, .bookedRun: "HSET"
            case .hdel: "HDEL"
            case .log: "XADD"
            }
        }
        /// The script's one-letter code (FencingScripts.batch).
        var code: String {
            switch self {
            case .sadd: "S"
            case .srem: "R"
            case .zadd: "Z"
            case .zrem: "X"
            case .set: "T"
            case .hset: "H"
            case .hdel: "D"
            case .log: "A"
            case .bookedRun: "B"
            }
        }
    }

    private var groups: [Group] = []
    /// Positions of the batch's audit writes that go in its log entry, in order.
    private var logged: [Int] = []
    /// The epoch and sequence of the batch being encoded, for `BookedBatches` ids.
    private var batchEpoch = 0
    private var batchSequence = 0
    /// Whether the batch has a log entry (a fenced batch), and where the current provider's
    /// changes start in `logged`.
    private var logging = false
    private var providerLogStart = 0

    public init(keys: KeyLayout) { self.keys = keys }

    /// Plain commands, one per group, written under `epoch` before any batch of it (their
    /// `BookedBatches` ids have sequence 0).
    public mutating func encode(_ writes: ArraySlice<MirrorWrite>, epoch: Int) {
        reset(writes, logging: false, epoch: epoch, sequence: 0)
        for group in groups {
            RESP.appendHeader(count: 2 + group.itemCount, into: &bytes)
            RESP.appendBulk(group.verb.name, into: &bytes)
            RESP.appendBulk(group.key, into: &bytes)
            appendItems(group, writes)
            commandEnds.append(bytes.count)
        }
    }

    /// One `EVALSHA` of `FencingScripts.batch` (sha `script`) carrying every group and the
    /// batch's audit log entry, applied by Redis only under `epoch` and when this thread's
    /// sequence key reads `sequence` (which the batch then sets to `nextSequence`).
    mutating func encodeFenced(
        _ writes: ArraySlice<MirrorWrite>, script: String, thread: Int, epoch: Int,
        sequence: Int, nextSequence: Int
    ) {
        reset(writes, logging: true, epoch: epoch, sequence: nextSequence)
        let arguments = groups.reduce(0) { $0 + 3 + $1.itemCount }
        RESP.appendHeader(count: 9 + arguments, into: &bytes)
        for text in [
            "EVALSHA", script, "3", keys.leaseEpoch, keys.batchSequence(thread: thread),
            keys.logSteps,
            String(epoch), String(sequence), String(nextSequence),
        ] {
            RESP.appendBulk(text, into: &bytes)
        }
        for group in groups {
            RESP.appendBulk(group.verb.code, into: &bytes)
            RESP.appendBulk(group.key, into: &bytes)
            RESP.appendBulk(String(group.itemCount), into: &bytes)
            appendItems(group, writes)
        }
        commandEnds.append(bytes.count)
    }

    /// The command a write belongs to (built once per command, not per write).
    private func target(_ write: MirrorWrite) -> (verb: Verb, key: String) {
        let id = write.provider.id
        switch write.op {
        case .book: return (.sadd, keys.booked(id))
        case .unbook: return (.srem, keys.booked(id))
        case .enqueue: return (.zadd, keys.waiting(id))
        case .dequeue: return (.zrem, keys.waiting(id))
        case .offer: return (.hset, keys.offers(id))
        case .unoffer: return (.hdel, keys.offers(id))
        case .tag, .tagPart, .untag, .places, .mask: return (.hset, keys.roundTags(id))
        case .field(let key, _, _): return (.hset, key)
        case .unfield(let key, _): return (.hdel, key)
        case .capacity, .refused, .barrier, .skipped, .audit, .auditCapacity:
            preconditionFailure("not a member write")
        }
    }

    /// How many items a write adds to its command.
    private static func items(_ op: MirrorOp) -> Int {
        switch op {
        case .book, .unbook, .dequeue, .unoffer, .unfield: 1
        case .enqueue, .offer, .tag, .tagPart, .untag, .field: 2
        case .places, .mask: 4  // the field, and the provider's highest score so far
        case .capacity, .refused, .barrier, .skipped: 1
        case .audit, .auditCapacity: 0  // in the batch's log entry, not a command of their own
        }
    }

    private mutating func reset(
        _ writes: ArraySlice<MirrorWrite>, logging: Bool, epoch: Int, sequence: Int
    ) {
        batchEpoch = epoch
        batchSequence = sequence
        self.logging = logging
        bytes.removeAll(keepingCapacity: true)
        commandEnds.removeAll(keepingCapacity: true)
        groups.removeAll(keepingCapacity: true)
        logged.removeAll(keepingCapacity: true)
        var index = writes.startIndex
        while index < writes.endIndex {
            let provider = writes[index].provider
            var runEnd = index + 1
            while runEnd < writes.endIndex && writes[runEnd].provider === provider { runEnd += 1 }
            providerLogStart = logged.count
            if logging { collectLogged(writes, index..<runEnd) }
            groupRun(writes, index..<runEnd)
            index = runEnd
        }
        // The batch's log entry goes last: nothing reads the log inside the script, so both
        // orders are kept and the changes keep sharing commands.
        for start in stride(from: 0, to: logged.count, by: AuditLog.maxChangesPerCall) {
            let end = min(start + AuditLog.maxChangesPerCall, logged.count)
            groups.append(
                Group(
                    verb: .log, key: keys.auditLog, run: start..<end, itemCount: 2 * (end - start)))
        }
    }

    /// The audit writes of a run of one provider's writes, less those a write-back after data
    /// loss already recorded (its snapshot held them; resent, they are applied, not logged).
    private mutating func collectLogged(_ writes: ArraySlice<MirrorWrite>, _ run: Range<Int>) {
        let loggedThrough = writes[run.lowerBound].provider.loggedThrough
        for position in run
        where writes[position].op.isAudit && writes[position].number > loggedThrough {
            logged.append(position)
        }
    }

    /// The commands of a run of one provider's writes: its changes in order, consecutive ones
    /// of a kind sharing a command (audit writes go in the batch's log entry instead).
    private mutating func groupRun(_ writes: ArraySlice<MirrorWrite>, _ run: Range<Int>) {
        let provider = writes[run.lowerBound].provider
        var index = run.lowerBound
        while index < run.upperBound {
            switch writes[index].op {
            case .capacity(let capacity):
                groups.append(
                    Group(
                        verb: .set, key: keys.capacity(provider.id), run: index..<index + 1,
                        itemCount: 1, value: String(capacity)))
                groups.append(
                    Group(
                        verb: .sadd, key: keys.providers, run: index..<index + 1, itemCount: 1,
                        value: provider.id))
                index += 1
                continue
            case .refused(let total):
                groups.append(
                    Group(
                        verb: .set, key: keys.refused(provider.id), run: index..<index + 1,
                        itemCount: 1, value: String(total)))
                index += 1
                continue
            case .barrier, .skipped, .audit, .auditCapacity:
                index += 1
                continue
            default:
                break
            }
            let (verb, key) = target(writes[index])
            var itemCount = Self.items(writes[index].op)
            var members = 1
            var end = index + 1
            // Consecutive writes to the same key with the same verb share one command (audit
            // writes between them do not count: they go in the log entry).
            while end < run.upperBound {
                if writes[end].op.isAudit {
                    end += 1
                    continue
                }
                guard members < Self.maxMembersPerCommand,
                    Self.sameCommand(writes[end].op, writes[index].op)
                else { break }
                itemCount += Self.items(writes[end].op)
                members += 1
                end += 1
            }
            switch writes[index].op {
            case .book where members >= BookedBatches.fieldFrom:
                provider.noteBookedBatches()
                if let (place, unlisted) = logPlace(of: index..<end, writes) {
                    // The field names the run's place in the log entry, which has its holders.
                    groups.append(
                        Group(
                            verb: .bookedRun, key: keys.bookedBatches(provider.id),
                            run: index..<end,
                            itemCount: 2, value: place, batchID: nextID()))
                    if !unlisted.isEmpty {
                        groups.append(
                            Group(
                                verb: .sadd, key: keys.booked(provider.id), run: index..<end,
                                itemCount: unlisted.count, members: unlisted))
                    }
                    index = end
                    continue
                }
                // The run's holders as one field, "<holder> <holder> …".
                groups.append(
                    Group(
                        verb: .hset, key: keys.bookedBatches(provider.id), run: index..<end,
                        itemCount: 2, batchID: nextID()))
            case .unbook where provider.hasBookedBatches:
                // Out of the set, and masked in every earlier field.
                groups.append(Group(verb: verb, key: key, run: index..<end, itemCount: itemCount))
                groups.append(
                    Group(
                        verb: .hset, key: keys.bookedBatches(provider.id), run: index..<end,
                        itemCount: 2 * itemCount, batchID: nextID()))
            default:
                groups.append(Group(verb: verb, key: key, run: index..<end, itemCount: itemCount))
            }
            index = end
        }
    }

    /// Where the batch's log entry lists a run's bookings: `<n> <first> <count>` (changes
    /// `first…` of its n-th entry, in the run's order), and the run's bookings it does not
    /// list, which go to the set: a retried BOOK's resent booking (logged when first made),
    /// or a booking whose change comes in the next batch (two threads booking one provider).
    /// Nil when the entry lists the run's bookings out of order or among other changes (the
    /// run is then written as holders), when they would span two entries, or on Redis
    /// Cluster, where a provider's keys may move to another master than its shard's log.
    private func logPlace(of run: Range<Int>, _ writes: ArraySlice<MirrorWrite>)
        -> (place: String, unlisted: [String])?
    {
        guard logging, !keys.isShard else { return nil }
        var first = providerLogStart
        while first < logged.count && logged[first] < run.lowerBound { first += 1 }
        var end = first
        while end < logged.count && logged[end] < run.upperBound { end += 1 }
        var next = first
        var unlisted: [String] = []
        for position in run {
            guard case .book(let holder) = writes[position].op else { continue }
            if next < end, case .audit(.book, let listed, _) = writes[logged[next]].op,
                listed == holder
            {
                next += 1
            } else {
                unlisted.append(holder)
            }
        }
        let perEntry = AuditLog.maxChangesPerCall
        guard next == end, next > first, first / perEntry == (next - 1) / perEntry else {
            return nil
        }
        return ("\(first / perEntry) \(first % perEntry) \(next - first)", unlisted)
    }

    /// The id of the next group, which names where it comes in the provider's writes.
    private func nextID() -> String {
        BookedBatches.ID(epoch: batchEpoch, sequence: batchSequence, group: groups.count).text
    }

    private mutating func appendItems(_ group: Group, _ writes: ArraySlice<MirrorWrite>) {
        if group.verb == .bookedRun, let id = group.batchID, let place = group.value {
            RESP.appendBulk(id, into: &bytes)
            RESP.appendBulk(place, into: &bytes)
            return
        }
        if let value = group.value {
            RESP.appendBulk(value, into: &bytes)
            return
        }
        if let members = group.members {
            for member in members { RESP.appendBulk(member, into: &bytes) }
            return
        }
        if let id = group.batchID {
            appendBatchItems(group, id: id, writes)
            return
        }
        if group.verb == .log {
            for position in logged[group.run] {
                _ = AuditLog.append(
                    writes[position].op, provider: writes[position].provider.id, into: &bytes)
            }
            return
        }
        for position in group.run {
            // A change's command skips the audit writes inside its run (they go in the log).
            if writes[position].op.isAudit { continue }
            switch writes[position].op {
            case .book(let holder), .unbook(let holder), .dequeue(let holder), .unoffer(let holder):
                RESP.appendBulk(holder, into: &bytes)
            case .untag(let holder):
                RESP.appendBulk(holder, into: &bytes)
                RESP.appendBulk(RoundTagFields.noTag, into: &bytes)
            case .tagPart(let round, let entries):
                RESP.appendBulk(RoundTagFields.partField(round: round), into: &bytes)
                RESP.appendBulk(entries, into: &bytes)
            case .places(let first, let last, let holders):
                RESP.appendBulk(RoundTagFields.placesField(first: first), into: &bytes)
                RESP.appendBulk(holders, into: &bytes)
                RESP.appendBulk(RoundTagFields.highestScoreField, into: &bytes)
                RESP.appendBulk(String(last), into: &bytes)
            case .mask(let holder, let score):
                RESP.appendBulk(RoundTagFields.maskField(holder: holder), into: &bytes)
                RESP.appendBulk(String(score), into: &bytes)
                RESP.appendBulk(RoundTagFields.highestScoreField, into: &bytes)
                RESP.appendBulk(String(score), into: &bytes)
            case .enqueue(let holder, let score):
                RESP.appendBulk(String(score), into: &bytes)
                RESP.appendBulk(holder, into: &bytes)
            case .offer(let holder, let expiresAt):
                RESP.appendBulk(holder, into: &bytes)
                RESP.appendBulk(String(expiresAt), into: &bytes)
            case .tag(let holder, let round, let rank):
                RESP.appendBulk(holder, into: &bytes)
                RESP.appendBulk(RoundTag.encode(round: round, rank: rank), into: &bytes)
            case .field(_, let field, let value):
                RESP.appendBulk(field, into: &bytes)
                RESP.appendBulk(value, into: &bytes)
            case .unfield(_, let field):
                RESP.appendBulk(field, into: &bytes)
            case .capacity, .refused, .barrier, .skipped, .audit, .auditCapacity:
                break
            }
        }
    }

    /// A `booked-batches` command's items: the field `id` and its holders, or each holder's
    /// mask and `id`.
    private mutating func appendBatchItems(
        _ group: Group, id: String, _ writes: ArraySlice<MirrorWrite>
    ) {
        guard case .book = writes[group.run.lowerBound].op else {
            for position in group.run {
                guard case .unbook(let holder) = writes[position].op else { continue }
                RESP.appendBulk(BookedBatches.maskField(holder: holder), into: &bytes)
                RESP.appendBulk(id, into: &bytes)
            }
            return
        }
        RESP.appendBulk(id, into: &bytes)
        var length = -1
        for position in group.run {
            if case .book(let holder) = writes[position].op { length += 1 + holder.utf8.count }
        }
        bytes.append(UInt8(ascii: "$"))
        Reply.appendDecimal(length, into: &bytes)
        bytes.append(13)
        bytes.append(10)
        var first = true
        for position in group.run {
            guard case .book(let holder) = writes[position].op else { continue }
            if !first { bytes.append(UInt8(ascii: " ")) }
            first = false
            bytes.append(contentsOf: holder.utf8)
        }
        bytes.append(13)
        bytes.append(10)
    }

    /// Two writes of one provider that one command carries: the same kind, and for round
    /// fields (whose key is in the write) the same key.
    private static func sameCommand(_ a: MirrorOp, _ b: MirrorOp) -> Bool {
        switch (a, b) {
        case (.book, .book), (.unbook, .unbook), (.dequeue, .dequeue), (.enqueue, .enqueue),
            (.offer, .offer),
            (.unoffer, .unoffer):
            true
        case (.field(let x, _, _), .field(let y, _, _)), (.unfield(let x, _), .unfield(let y, _)):
            x == y
        // Every write to the provider's tags hash sets fields there: one HSET, in order.
        default: setsTagsHashFields(a) && setsTagsHashFields(b)
        }
    }

    private static func setsTagsHashFields(_ op: MirrorOp) -> Bool {
        switch op {
        case .tag, .tagPart, .untag, .places, .mask: true
        default: false
        }
    }
}
