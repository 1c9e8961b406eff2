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

    /// One Redis command of the batch: a verb, a key and its items (members, or
    /// score/member pairs for ZADD, or one value for SET), taken from a run of writes.
    private struct Group {
        var verb: Verb
        var key: String
        var run: Range<Int>
        var value: String?
        var itemCount: Int {
            if value != nil { return 1 }
            return verb == .zadd ? 2 * run.count : run.count
        }
    }

    private enum Verb {
        case sadd, srem, zadd, zrem, set
        var name: String {
            switch self {
            case .sadd: "SADD"
            case .srem: "SREM"
            case .zadd: "ZADD"
            case .zrem: "ZREM"
            case .set: "SET"
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
    /// Redis only under `epoch` and when this thread's sequence key still reads `sequence`.
    mutating func encodeFenced(_ writes: ArraySlice<MirrorWrite>, script: String, thread: Int, epoch: Int, sequence: Int) {
        reset(writes)
        let arguments = groups.reduce(0) { $0 + 3 + $1.itemCount }
        RESP.appendHeader(count: 8 + arguments, into: &bytes)
        for text in ["EVALSHA", script, "2", keys.leaseEpoch, keys.batchSequence(thread: thread),
                     String(epoch), String(sequence), String(sequence + 1)] {
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

    private mutating func reset(_ writes: ArraySlice<MirrorWrite>) {
        bytes.removeAll(keepingCapacity: true)
        commandEnds.removeAll(keepingCapacity: true)
        groups.removeAll(keepingCapacity: true)
        var index = writes.startIndex
        while index < writes.endIndex {
            let provider = writes[index].provider
            switch writes[index].op {
            case .capacity(let capacity):
                groups.append(Group(verb: .set, key: keys.capacity(provider.id), run: index..<index + 1, value: String(capacity)))
                groups.append(Group(verb: .sadd, key: keys.providers, run: index..<index + 1, value: provider.id))
                index += 1
                continue
            case .refused(let total):
                groups.append(Group(verb: .set, key: keys.refused(provider.id), run: index..<index + 1, value: String(total)))
                index += 1
                continue
            case .barrier:
                index += 1
                continue
            default:
                break
            }
            var end = index + 1
            while end < writes.endIndex, end - index < Self.maxMembersPerCommand,
                  writes[end].provider === provider, Self.sameKind(writes[end].op, writes[index].op) {
                end += 1
            }
            let verb: Verb
            let key: String
            switch writes[index].op {
            case .book: (verb, key) = (.sadd, keys.booked(provider.id))
            case .unbook: (verb, key) = (.srem, keys.booked(provider.id))
            case .enqueue: (verb, key) = (.zadd, keys.waiting(provider.id))
            default: (verb, key) = (.zrem, keys.waiting(provider.id))
            }
            groups.append(Group(verb: verb, key: key, run: index..<end))
            index = end
        }
    }

    private mutating func appendItems(_ group: Group, _ writes: ArraySlice<MirrorWrite>) {
        if let value = group.value {
            RESP.appendBulk(value, into: &bytes)
            return
        }
        for position in group.run {
            switch writes[position].op {
            case .book(let holder), .unbook(let holder), .dequeue(let holder):
                RESP.appendBulk(holder, into: &bytes)
            case .enqueue(let holder, let score):
                RESP.appendBulk(String(score), into: &bytes)
                RESP.appendBulk(holder, into: &bytes)
            case .capacity, .refused, .barrier:
                break
            }
        }
    }

    private static func sameKind(_ a: MirrorOp, _ b: MirrorOp) -> Bool {
        switch (a, b) {
        case (.book, .book), (.unbook, .unbook), (.dequeue, .dequeue), (.enqueue, .enqueue): true
        default: false
        }
    }
}
