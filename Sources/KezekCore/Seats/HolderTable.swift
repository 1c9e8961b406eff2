/// A provider's holders with a seat, each with the number of the write that last booked it,
/// split into `HolderStripes.count` dictionaries by the holder's hash.
///
/// Read and changed as one table (`subscript`, `count`, `keys`) only under `StripedState.withLock`;
/// one stripe (`stripe(of:)`, `subscript(stripe:holder:)`) under that stripe's lock alone.
/// A holder lives in exactly one stripe, so a check and an insert of one holder under its
/// stripe's lock cannot race with another for the same holder. The stripes are plain memory,
/// not an object: copying the table (into the state, or for a BOOK) counts no reference,
/// which threads booking one provider would otherwise all write. `Provider` frees them.
struct HolderTable: @unchecked Sendable {
    private let stripes: UnsafeMutablePointer<[String: Int]>

    init() {
        stripes = .allocate(capacity: HolderStripes.count)
        stripes.initialize(repeating: [:], count: HolderStripes.count)
    }

    /// Frees the stripes (the provider's deinit; no copy may be used after).
    func deallocate() {
        stripes.deinitialize(count: HolderStripes.count)
        stripes.deallocate()
    }

    /// The holder's stripe, from a multiply-and-xor hash of every byte of its id, 8 at a time,
    /// read from the top bits. (It was FNV-1a of the last 8 bytes modulo the count: ids sharing
    /// an 8-byte suffix, such as a gateway's `@school.kz` or kezek-bench's run tag, all fell on
    /// one stripe, and the low bits of FNV-1a see only the low bits of each byte.) Unseeded: ids
    /// chosen to meet on one stripe make it busier, never an answer wrong. The dictionary hashes
    /// the id again with its seeded hash; a second seeded hash cost a BOOK more than this.
    @inline(__always)
    static func stripe(of holder: String) -> Int {
        var id = holder
        let hash = id.withUTF8 { utf8 -> UInt64 in
            var hash = UInt64(utf8.count)
            var index = 0
            while index + 8 <= utf8.count {
                let word = UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(
                    as: UInt64.self)
                hash = (hash ^ word) &* 0x9E37_79B9_7F4A_7C15
                index += 8
            }
            var tail: UInt64 = 0
            var shift: UInt64 = 0
            while index < utf8.count {
                tail |= UInt64(utf8[index]) << shift
                shift += 8
                index += 1
            }
            return (hash ^ tail) &* 0x9E37_79B9_7F4A_7C15
        }
        // The top 32 bits scaled to the count: a product's top bits depend on every bit below.
        return Int(truncatingIfNeeded: ((hash >> 32) &* UInt64(HolderStripes.count)) >> 32)
    }

    /// One stripe's entry: call with that stripe's lock held (or every lock).
    @inline(__always)
    subscript(stripe stripe: Int, holder holder: String) -> Int? {
        get { stripes[stripe][holder] }
        nonmutating set { stripes[stripe][holder] = newValue }
    }

    /// Gives the holder the entry `make` returns when it has none yet and `make` returns one
    /// (call with the stripe's lock held). The id is hashed once for the look and the insert:
    /// a lookup followed by an insert hashed it twice, a tenth of a BOOK's instructions.
    /// `make` must not touch this table.
    @inline(__always)
    func insertIfAbsent(stripe: Int, holder: String, _ make: () -> Int?) {
        Self.fill(&stripes[stripe][holder], make)
    }

    @inline(__always)
    private static func fill(_ entry: inout Int?, _ make: () -> Int?) {
        guard entry == nil, let value = make() else { return }
        entry = value
    }

    subscript(holder: String) -> Int? {
        get { self[stripe: Self.stripe(of: holder), holder: holder] }
        nonmutating set { self[stripe: Self.stripe(of: holder), holder: holder] = newValue }
    }

    var count: Int {
        (0..<HolderStripes.count).reduce(0) { $0 + stripes[$1].count }
    }

    var isEmpty: Bool { count == 0 }

    var keys: [String] {
        (0..<HolderStripes.count).flatMap { Array(stripes[$0].keys) }
    }

    /// Calls `body` with every holder, building no array of them.
    func forEachHolder(_ body: (String) -> Void) {
        for stripe in 0..<HolderStripes.count {
            for holder in stripes[stripe].keys { body(holder) }
        }
    }

    /// Replaces every entry (recovery): `holders` with write number `number`.
    /// Each stripe is sized for exactly the holders it gets, counted first. An even share plus
    /// slack reserved room nobody used wherever the holders fell unevenly (at 100x the city,
    /// 210 MB of a cold start's 1.76 GB, every page of it cleared by the kernel on first touch).
    /// Each holder's stripe is worked out once, kept for the inserts.
    func replaceAll(with holders: [String], number: Int) {
        withUnsafeTemporaryAllocation(of: Int.self, capacity: HolderStripes.count) { shares in
            withUnsafeTemporaryAllocation(of: UInt8.self, capacity: holders.count) { stripeOf in
                shares.initialize(repeating: 0)
                for (index, holder) in holders.enumerated() {
                    let stripe = Self.stripe(of: holder)
                    stripeOf.initializeElement(at: index, to: UInt8(stripe))
                    shares[stripe] += 1
                }
                for stripe in 0..<HolderStripes.count {
                    stripes[stripe] = [:]
                    stripes[stripe].reserveCapacity(shares[stripe])
                }
                for (index, holder) in holders.enumerated() {
                    self[stripe: Int(stripeOf[index]), holder: holder] = number
                }
            }
        }
    }
}
