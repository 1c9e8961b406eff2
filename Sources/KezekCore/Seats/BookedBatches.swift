/// How a provider's bookings are kept in Redis: the set `<prefix>:{P}:booked`, and the hash
/// `<prefix>:{P}:booked-batches` that takes a long run of a batch's bookings in one field:
///
///     <epoch>.<sequence>.<group>   "<holder> <holder> …"   bookings made by one command of a batch
///     !<holder>                    "<epoch>.<sequence>.<group>"   the holder's seat was given up there
///
/// A set member costs Redis about 1 µs and 21 bytes of its append-only file per booking
/// (parsing the member, hashing it into the set); a batch's holders as one string cost it
/// a copy (PERFORMANCE.md, "A batch's bookings in one field"). The id orders every write to
/// a provider: its epoch (grows at every takeover), the loop thread's batch sequence (a
/// provider's writes go on one thread's connection, in order) and the command's place in
/// the batch; recovery's settling, before any batch of its epoch, writes with sequence 0.
///
/// Runs in the log: in a fenced batch on a lone Redis, the batch's log entry already lists the
/// run's holders (one `book` change each), so the field's value says where instead of
/// repeating them:
///
///     <epoch>.<sequence>.<group>   "><entry id> <first> <count>"   changes first…first+count-1
///                                                                  of that log entry (from 0)
///
/// which writes each booking's holder once (PERFORMANCE.md, "Runs written once"). `>` is not
/// an id character, so no such value reads as holders. The log is then part of the state:
/// it is never trimmed, and deleting it loses these bookings (PROTOCOL.md "Transparency").
///
/// A holder is booked if the set has it, or a field names it later than its mask, if any.
/// Giving a seat up removes the holder from the set and, at a provider with such fields,
/// masks it with the id of that write, so an earlier field no longer counts it and a later
/// booking (a higher id) does. Short runs (`fieldFrom`), a write-back after data loss (which
/// empties the hash) and releases before this one write the set.
public enum BookedBatches {
    /// Bookings in a run (consecutive, at one provider, in one batch) from which the run is
    /// written as a field; a shorter run goes to the set, member by member. A field costs its
    /// id (about 20 bytes of the append-only file and a number to parse at a load), so it pays
    /// only once it carries a few holders: with the city's providers a batch holds one or two
    /// bookings of each, and as fields a cold start at 100x took 2.6 s longer.
    public static let fieldFrom = 8

    /// The id of a batch's command: sorts as the writes were made.
    public struct ID: Comparable, Sendable {
        public let epoch: Int
        public let sequence: Int
        public let group: Int

        public init(epoch: Int, sequence: Int, group: Int) {
            self.epoch = epoch
            self.sequence = sequence
            self.group = group
        }

        /// Parses `<epoch>.<sequence>.<group>`; nil for anything else.
        public init?(_ text: Substring) {
            let parts = text.split(separator: ".", omittingEmptySubsequences: false)
            guard parts.count == 3, let epoch = Int(parts[0]), let sequence = Int(parts[1]),
                let group = Int(parts[2]), epoch >= 0, sequence >= 0, group >= 0
            else { return nil }
            self.init(epoch: epoch, sequence: sequence, group: group)
        }

        public var text: String { "\(epoch).\(sequence).\(group)" }

        public static func < (a: ID, b: ID) -> Bool {
            (a.epoch, a.sequence, a.group) < (b.epoch, b.sequence, b.group)
        }
    }

    /// Where a run's holders are in the log: the entry's stream id, and which of its changes.
    public struct LogPlace: Hashable, Sendable {
        public let entry: String
        public let first: Int
        public let count: Int

        /// Parses `><entry id> <first> <count>`; nil for anything else.
        public init?(_ value: String) {
            guard value.hasPrefix(">") else { return nil }
            let parts = value.dropFirst().split(separator: " ", omittingEmptySubsequences: false)
            guard parts.count == 3, !parts[0].isEmpty, let first = Int(parts[1]),
                let count = Int(parts[2]), first >= 0, count >= 1
            else { return nil }
            entry = String(parts[0])
            self.first = first
            self.count = count
        }

        /// Whether `value` is meant as a place in the log (well formed or not).
        public static func isMeant(_ value: String) -> Bool {
            value.utf8.first == UInt8(ascii: ">")
        }

        /// The run's holders as a field value, `"<holder> <holder> …"`, from the entry's field
        /// names and values as XRANGE gives them (`epoch`, `seq`, then one pair per change);
        /// nil when a change there is not a `book` at `provider` with a valid holder id.
        public func holders(inEntry fields: [String], provider: String) -> String? {
            let start = 4 + 2 * first
            guard fields.count >= 4, fields[0] == "epoch", fields[2] == "seq",
                start + 2 * count <= fields.count
            else { return nil }
            var holders: [Substring] = []
            holders.reserveCapacity(count)
            for index in stride(from: start, to: start + 2 * count, by: 2) {
                let words = fields[index + 1].split(separator: " ", maxSplits: 2)
                guard fields[index] == AuditOp.book.rawValue, words.count >= 2,
                    words[0] == provider, Identifier.isValid(String(words[1]))
                else { return nil }
                holders.append(words[1])
            }
            return holders.joined(separator: " ")
        }
    }

    /// The field that masks `holder` (`!` is not an id character).
    public static func maskField(holder: String) -> String { "!" + holder }

    /// What the hash says, with the set's members: every booked holder once, the set's first,
    /// then the fields' in the order read. `bad` is told of every field that does not parse
    /// (once per field, however many bad ids it holds).
    public static func booked(
        set members: [String], batches pairs: [(field: String, value: String)],
        bad: (String) -> Void
    ) -> [String] {
        guard !pairs.isEmpty else { return members }
        var masks: [String: ID] = [:]
        for (field, value) in pairs where field.hasPrefix("!") {
            let holder = String(field.dropFirst())
            guard let id = ID(value[...]), Identifier.isValid(holder) else {
                bad(field)
                continue
            }
            masks[holder] = id
        }
        // Each holder once, with the latest id that names it (a retried BOOK names it again).
        // Split by bytes: splitting a String by Character walks grapheme clusters, which cost
        // a cold start at 100x the city seconds.
        var index: [String: Int] = Dictionary(minimumCapacity: members.count)
        for member in members { index[member] = -1 }
        var found: [(holder: String, id: ID)] = []
        for (field, value) in pairs where !field.hasPrefix("!") {
            guard let id = ID(field[...]) else {
                bad(field)
                continue
            }
            var value = value
            let allValid = value.withUTF8 { bytes in
                var valid = true
                var start = 0
                for end in 0...bytes.count where end == bytes.count || bytes[end] == space {
                    defer { start = end + 1 }
                    guard end > start else { continue }
                    let word = UnsafeBufferPointer(rebasing: bytes[start..<end])
                    guard Identifier.isValid(UnsafeRawBufferPointer(word)) else {
                        valid = false
                        continue
                    }
                    let holder = String(decoding: word, as: UTF8.self)
                    if let at = index[holder] {
                        if at >= 0 && found[at].id < id { found[at].id = id }
                    } else {
                        index[holder] = found.count
                        found.append((holder, id))
                    }
                }
                return valid
            }
            if !allValid { bad(field) }
        }
        var holders = members
        holders.reserveCapacity(members.count + found.count)
        for entry in found {
            if !masks.isEmpty, let mask = masks[entry.holder], mask > entry.id { continue }
            holders.append(entry.holder)
        }
        return holders
    }

    private static let space = UInt8(ascii: " ")
}
