/// Turns a batch of writes into Redis commands in RESP, ready for hiredis.
///
/// Consecutive writes of one kind to one provider become a single command (`SADD key h1 h2 …`),
/// which Redis executes much faster than one command per write; order between different kinds
/// or providers is kept as made.
public struct MirrorBatchEncoder {
    public let keys: KeyLayout
    /// Members per command at most, to keep single commands small.
    public static let maxMembersPerCommand = 512

    /// The encoded commands, back to back; `commandEnds[i]` is where command i ends.
    public private(set) var bytes: [UInt8] = []
    public private(set) var commandEnds: [Int] = []

    public init(keys: KeyLayout) { self.keys = keys }

    public mutating func encode(_ writes: ArraySlice<MirrorWrite>) {
        bytes.removeAll(keepingCapacity: true)
        commandEnds.removeAll(keepingCapacity: true)
        var index = writes.startIndex
        while index < writes.endIndex {
            let provider = writes[index].provider
            if case .capacity(let capacity) = writes[index].op {
                command(["SET", keys.capacity(provider.id), String(capacity)])
                command(["SADD", keys.providers, provider.id])
                index += 1
                continue
            }
            if case .refused(let total) = writes[index].op {
                command(["SET", keys.refused(provider.id), String(total)])
                index += 1
                continue
            }
            var end = index + 1
            while end < writes.endIndex, end - index < Self.maxMembersPerCommand,
                  writes[end].provider === provider, Self.sameKind(writes[end].op, writes[index].op) {
                end += 1
            }
            switch writes[index].op {
            case .book:
                members("SADD", keys.booked(provider.id), writes, index..<end)
            case .unbook:
                members("SREM", keys.booked(provider.id), writes, index..<end)
            case .dequeue:
                members("ZREM", keys.waiting(provider.id), writes, index..<end)
            case .enqueue:
                header(count: 2 + 2 * (end - index))
                bulk("ZADD")
                bulk(keys.waiting(provider.id))
                for position in index..<end {
                    guard case .enqueue(let holder, let score) = writes[position].op else { continue }
                    bulk(String(score))
                    bulk(holder)
                }
                commandEnds.append(bytes.count)
            case .capacity, .refused:
                break
            }
            index = end
        }
    }

    private static func sameKind(_ a: MirrorOp, _ b: MirrorOp) -> Bool {
        switch (a, b) {
        case (.book, .book), (.unbook, .unbook), (.dequeue, .dequeue), (.enqueue, .enqueue): true
        default: false
        }
    }

    private mutating func members(_ verb: String, _ key: String, _ writes: ArraySlice<MirrorWrite>, _ run: Range<Int>) {
        header(count: 2 + run.count)
        bulk(verb)
        bulk(key)
        for position in run {
            switch writes[position].op {
            case .book(let holder), .unbook(let holder), .dequeue(let holder): bulk(holder)
            default: break
            }
        }
        commandEnds.append(bytes.count)
    }

    private mutating func command(_ arguments: [String]) {
        RESP.appendCommand(arguments, into: &bytes)
        commandEnds.append(bytes.count)
    }

    private mutating func header(count: Int) { RESP.appendHeader(count: count, into: &bytes) }

    private mutating func bulk(_ text: String) { RESP.appendBulk(text, into: &bytes) }
}
