/// The audit log's entry format (PROTOCOL.md "Transparency"): one Redis stream per lease, one
/// entry per atomic step, fields `epoch` and `seq` first, then one field per change in the
/// order made: the op as its name, `<provider> <holder>[ <round> <rank>]` (or `<provider>
/// <capacity>`) as its value. `epoch` and `seq` are put in by the script that appends the entry
/// (FencingScripts.batch and .logStep), so this type writes only the changes.
enum AuditLog {
    /// Changes one Redis call carries at most. A script hands its arguments to `redis.call`
    /// through Lua's stack, which holds 8,000 values (measured on Redis 7.0: 7,990 arguments
    /// pass, 20,000 fail with "too many results to unpack"); a step with more changes (only a
    /// draw's part at a provider with that many placements and waitlist places) is appended
    /// as consecutive entries that share its `seq`.
    static let maxChangesPerCall = 3_900

    /// Appends the field name and value of `op` at `provider` as two RESP bulk strings;
    /// false (nothing appended) for a write that is not an audit entry.
    static func append(_ op: MirrorOp, provider: String, into bytes: inout [UInt8]) -> Bool {
        switch op {
        case .audit(let auditOp, let holder, let cause):
            bytes.append(contentsOf: fieldNames[auditOp.index])
            if let cause {
                appendValue(provider, holder, cause.round, String(cause.rank), into: &bytes)
            } else {
                appendValue(provider, holder, into: &bytes)
            }
            return true
        case .auditCapacity(let capacity):
            bytes.append(contentsOf: capacityFieldName)
            appendValue(provider, String(capacity), into: &bytes)
            return true
        default:
            return false
        }
    }

    /// The field name and value of `op` at `provider`, for commands built as strings.
    static func field(_ op: MirrorOp, provider: String) -> [String] {
        switch op {
        case .audit(let auditOp, let holder, let cause):
            [
                auditOp.rawValue,
                ([provider, holder] + (cause.map { [$0.round, String($0.rank)] } ?? [])).joined(
                    separator: " "),
            ]
        case .auditCapacity(let capacity):
            ["capacity", "\(provider) \(capacity)"]
        default:
            []
        }
    }

    /// The changes that rebuild a provider's state from empty: its capacity, bookings,
    /// offers and waitlist (in order), each with the round that placed or queued it. The
    /// write-back after data loss and a log started over existing state record these.
    static func baseFields(provider: String, _ state: Provider.Snapshot) -> [String] {
        let tags = Dictionary(
            state.tags.map { ($0.holder, $0.tag) }, uniquingKeysWith: { first, _ in first })
        let waiting = state.waiting.sorted { $0.score < $1.score }.map(\.holder)
        var fields = field(.auditCapacity(state.capacity), provider: provider)
        for (op, members) in [
            (AuditOp.book, state.holders.sorted()), (.offer, state.offers.map(\.holder).sorted()),
            (.wait, waiting),
        ] {
            for holder in members {
                fields += field(.audit(op, holder: holder, cause: tags[holder]), provider: provider)
            }
        }
        return fields
    }

    /// The `FencingScripts.logStep` calls that append `fields` (name/value pairs) as steps of
    /// their own: one, or more where one call would carry over `maxChangesPerCall` changes.
    /// `log` is the log's key unless it is being written elsewhere first (the write-back's).
    static func stepCommands(
        keys: KeyLayout, epoch: Int, fields: [String], log: String? = nil
    ) -> [[String]] {
        stride(from: 0, to: fields.count, by: 2 * maxChangesPerCall).map { start in
            [
                "EVAL", FencingScripts.logStep, "2", log ?? keys.auditLog, keys.logSteps,
                String(epoch),
            ]
                + fields[start..<min(start + 2 * maxChangesPerCall, fields.count)]
        }
    }

    /// `$<n>\r\n<words joined by spaces>\r\n`, without building the joined string.
    private static func appendValue(
        _ first: String, _ second: String, _ third: String? = nil, _ fourth: String? = nil,
        into bytes: inout [UInt8]
    ) {
        var length = first.utf8.count + 1 + second.utf8.count
        if let third { length += 1 + third.utf8.count }
        if let fourth { length += 1 + fourth.utf8.count }
        bytes.append(UInt8(ascii: "$"))
        Reply.appendDecimal(length, into: &bytes)
        bytes.append(13)
        bytes.append(10)
        bytes.append(contentsOf: first.utf8)
        bytes.append(UInt8(ascii: " "))
        bytes.append(contentsOf: second.utf8)
        if let third {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: third.utf8)
        }
        if let fourth {
            bytes.append(UInt8(ascii: " "))
            bytes.append(contentsOf: fourth.utf8)
        }
        bytes.append(13)
        bytes.append(10)
    }

    private static let fieldNames: [[UInt8]] = AuditOp.allCases.map { RESP.bulk($0.rawValue) }
    private static let capacityFieldName = RESP.bulk("capacity")
}
