/// A provider's holders with a seat, each with the number of the write that last booked it,
/// split into `HolderStripes.count` dictionaries by the holder's hash.
///
/// Read and changed as one table (`subscript`, `count`, `keys`) only under `StripedState.withLock`;
/// one stripe (`stripe(of:)`, `subscript(stripe:holder:)`) under that stripe's lock alone.
/// A holder lives in exactly one stripe, so a check and an insert of one holder under its
/// stripe's lock cannot race with another for the same holder.
struct HolderTable: @unchecked Sendable {
    private final class Storage {
        let stripes: UnsafeMutablePointer<[String: Int]>

        init() {
            stripes = .allocate(capacity: HolderStripes.count)
            stripes.initialize(repeating: [:], count: HolderStripes.count)
        }

        deinit {
            stripes.deinitialize(count: HolderStripes.count)
            stripes.deallocate()
        }
    }

    private let storage = Storage()

    @inline(__always)
    static func stripe(of holder: String) -> Int {
        Int(UInt(bitPattern: holder.hashValue) % UInt(HolderStripes.count))
    }

    /// One stripe's entry: call with that stripe's lock held (or every lock).
    @inline(__always)
    subscript(stripe stripe: Int, holder holder: String) -> Int? {
        get { storage.stripes[stripe][holder] }
        nonmutating set { storage.stripes[stripe][holder] = newValue }
    }

    subscript(holder: String) -> Int? {
        get { self[stripe: Self.stripe(of: holder), holder: holder] }
        nonmutating set { self[stripe: Self.stripe(of: holder), holder: holder] = newValue }
    }

    var count: Int {
        (0..<HolderStripes.count).reduce(0) { $0 + storage.stripes[$1].count }
    }

    var isEmpty: Bool { count == 0 }

    var keys: [String] {
        (0..<HolderStripes.count).flatMap { Array(storage.stripes[$0].keys) }
    }

    /// Replaces every entry (recovery): `holders` with write number `number`.
    func replaceAll(with holders: [String], number: Int) {
        for stripe in 0..<HolderStripes.count { storage.stripes[stripe] = [:] }
        for holder in holders where self[holder] == nil { self[holder] = number }
    }
}
