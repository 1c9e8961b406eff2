/// Turns a batch of writes into RESP for hiredis: either one fenced script call that Redis
/// applies all or nothing (`encodeFenced`, the group commit of the loops), or plain commands
/// (`encode`, for recovery's settling and the repair after data loss, which run while this
/// daemon holds the lease and nothing else writes).
///
/// Consecutive writes of one kind to one provider become a single command (`SADD key h1 h2 …`),
/// which Redis executes much faster than one command per write; order between different kinds
/// or providers is kept as made.
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
        var run: Range<Int>
        var itemCount: Int
        /// SET's value, or the member of the `providers` SADD that comes with a capacity.
        var value: String?
    }

    private enum Verb {
        case sadd, srem, zadd, zrem, set, hset, hdel, xadd
        var name: String {
            switch self {
            case .sadd: "SADD"
            case .srem: "SREM"
            case .zadd: "ZADD"
            case .zrem: "ZREM"
            case .set: "SET"
            case .hset: "HSET"
            case .hdel: "HDEL"
            case .xadd: "XADD"
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
            case .xadd: "A"
            }
        }
    }

    private var groups: [Group] = []

    public init(keys: KeyLayout) { self.keys = keys }

    /// Plain commands, one per group.
    public mutating func encode(_ writes: ArraySlice<MirrorWrite>) {
        reset(writes)
        for group in groups {
            RESP.appendHeader(count: 2 + group.itemCount, into: &bytes)
            RESP.appendBulk(group.verb.name, into: &bytes)
            RESP.appendBulk(group.key, into: &bytes)
            appendItems(group, writes)
            commandEnds.append(bytes.count)
        }
    }

    /// One `EVALSHA` of `FencingScripts.batch` (sha `script`) carrying every group, applied by
    /// Redis only under `epoch` and when this thread's sequence key reads from `sequence` to
    /// `nextSequence` (which the batch then sets).
    mutating func encodeFenced(_ writes: ArraySlice<MirrorWrite>, script: String, thread: Int, epoch: Int,
                               sequence: Int, nextSequence: Int) {
        reset(writes)
        let arguments = groups.reduce(0) { $0 + 3 + $1.itemCount }
        RESP.appendHeader(count: 8 + arguments, into: &bytes)
        for text in ["EVALSHA", script, "2", keys.leaseEpoch, keys.batchSequence(thread: thread),
                     String(epoch), String(sequence), String(nextSequence)] {
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
        case .tag: return (.hset, keys.roundTags(id))
        case .untag: return (.hdel, keys.roundTags(id))
        case .field(let key, _, _): return (.hset, key)
        case .unfield(let key, _): return (.hdel, key)
        case .audit, .auditCapacity: return (.xadd, keys.audit(id))
        case .capacity, .refused, .barrier, .skipped: preconditionFailure("not a member write")
        }
    }

    /// How many items a write adds to its command.
    private static func items(_ op: MirrorOp) -> Int {
        switch op {
        case .book, .unbook, .dequeue, .unoffer, .untag, .unfield: 1
        case .enqueue, .offer, .tag, .field: 2
        case .audit(_, _, let cause): cause == nil ? 5 : 9
        case .auditCapacity: 5
        case .capacity, .refused, .barrier, .skipped: 1
        }
    }

    private mutating func reset(_ writes: ArraySlice<MirrorWrite>) {
        bytes.removeAll(keepingCapacity: true)
        commandEnds.removeAll(keepingCapacity: true)
        groups.removeAll(keepingCapacity: true)
        var index = writes.startIndex
        while index < writes.endIndex {
            let provider = writes[index].provider
            var runEnd = index + 1
            while runEnd < writes.endIndex && writes[runEnd].provider === provider { runEnd += 1 }
            groupRun(writes, index..<runEnd)
            index = runEnd
        }
    }

    /// The commands of a run of one provider's writes: its changes in order, consecutive ones
    /// of a kind sharing a command, then its audit entries in order. Audit entries go to a
    /// stream that nothing else reads, so putting them after the changes of the same script
    /// call keeps both orders and lets the changes keep sharing commands.
    private mutating func groupRun(_ writes: ArraySlice<MirrorWrite>, _ run: Range<Int>) {
        let provider = writes[run.lowerBound].provider
        var index = run.lowerBound
        while index < run.upperBound {
            switch writes[index].op {
            case .capacity(let capacity):
                groups.append(Group(verb: .set, key: keys.capacity(provider.id), run: index..<index + 1, itemCount: 1, value: String(capacity)))
                groups.append(Group(verb: .sadd, key: keys.providers, run: index..<index + 1, itemCount: 1, value: provider.id))
                index += 1
                continue
            case .refused(let total):
                groups.append(Group(verb: .set, key: keys.refused(provider.id), run: index..<index + 1, itemCount: 1, value: String(total)))
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
            // entries between them do not count: they are written after).
            while end < run.upperBound {
                if writes[end].op.isAudit {
                    end += 1
                    continue
                }
                guard members < Self.maxMembersPerCommand, Self.sameCommand(writes[end].op, writes[index].op) else { break }
                itemCount += Self.items(writes[end].op)
                members += 1
                end += 1
            }
            groups.append(Group(verb: verb, key: key, run: index..<end, itemCount: itemCount))
            index = end
        }
        for position in run where writes[position].op.isAudit {
            let (verb, key) = target(writes[position])
            groups.append(Group(verb: verb, key: key, run: position..<position + 1, itemCount: Self.items(writes[position].op)))
        }
    }

    private mutating func appendItems(_ group: Group, _ writes: ArraySlice<MirrorWrite>) {
        if let value = group.value {
            RESP.appendBulk(value, into: &bytes)
            return
        }
        for position in group.run {
            // A change's command skips the audit entries inside its run (they have their own).
            if group.verb != .xadd && writes[position].op.isAudit { continue }
            switch writes[position].op {
            case .book(let holder), .unbook(let holder), .dequeue(let holder), .unoffer(let holder), .untag(let holder):
                RESP.appendBulk(holder, into: &bytes)
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
            case .audit(let op, let holder, let cause):
                // XADD key * op <op> holder <holder> [round <round> rank <rank>]
                bytes.append(contentsOf: Self.auditPrefix[op.index])
                RESP.appendBulk(holder, into: &bytes)
                if let cause {
                    for text in ["round", cause.round, "rank", String(cause.rank)] { RESP.appendBulk(text, into: &bytes) }
                }
            case .auditCapacity(let capacity):
                for text in ["*", "op", "capacity", "capacity", String(capacity)] { RESP.appendBulk(text, into: &bytes) }
            case .capacity, .refused, .barrier, .skipped:
                break
            }
        }
    }

    /// `* op <op> holder` encoded once per op: the constant part of every audit entry.
    private static let auditPrefix: [[UInt8]] = AuditOp.allCases.map { op in
        var bytes: [UInt8] = []
        for text in ["*", "op", op.rawValue, "holder"] { RESP.appendBulk(text, into: &bytes) }
        return bytes
    }

    /// Two writes of one provider that one command carries: the same kind, and for round
    /// fields (whose key is in the write) the same key.
    private static func sameCommand(_ a: MirrorOp, _ b: MirrorOp) -> Bool {
        switch (a, b) {
        case (.book, .book), (.unbook, .unbook), (.dequeue, .dequeue), (.enqueue, .enqueue), (.offer, .offer),
             (.unoffer, .unoffer), (.tag, .tag), (.untag, .untag): true
        case (.field(let x, _, _), .field(let y, _, _)), (.unfield(let x, _), .unfield(let y, _)): x == y
        default: false
        }
    }
}
