import Glibc

/// A loop thread's own map of providers it has seen: lookups without any lock.
///
/// It counts no reference: providers are never removed, so the table keeps every one alive as
/// long as the server runs, and a reference count on a provider every thread books is one
/// more cache line all of them write per BOOK (the admission path is careful to write none).
///
/// It looks an id up by the bytes the request holds, in a table of its own (open addressing
/// on the table's FNV-1a hash, compared byte for byte): a `[String: Provider]` made a `String`
/// of the id and hashed it with Swift's seeded hash on every request, 5% of a BOOK's
/// instructions.
final class ProviderCache {
    private let table: SeatTable
    /// Each slot's id hash and provider (nil: free); the count is a power of two.
    private var hashes = [UInt64](repeating: 0, count: 64)
    private var providers = [Unmanaged<Provider>?](repeating: nil, count: 64)
    private var count = 0

    init(table: SeatTable) { self.table = table }

    /// Runs `body` on provider `id` (nil when there is none), passing it without a retain.
    func withProvider<Result>(_ id: UnsafeRawBufferPointer, _ body: (Provider) -> Result)
        -> Result?
    {
        guard let provider = lookUp(id) else { return nil }
        return provider._withUnsafeGuaranteedRef(body)
    }

    func provider(_ id: String) -> Provider? {
        var id = id
        return id.withUTF8 { lookUp(UnsafeRawBufferPointer($0)) }?.takeUnretainedValue()
    }

    private func lookUp(_ id: UnsafeRawBufferPointer) -> Unmanaged<Provider>? {
        let hash = SeatTable.stableHash(id)
        let mask = providers.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while let provider = providers[slot] {
            if hashes[slot] == hash && provider._withUnsafeGuaranteedRef({ Self.same($0.id, id) }) {
                return provider
            }
            slot = (slot + 1) & mask
        }
        guard let found = table.provider(String(decoding: id, as: UTF8.self)) else { return nil }
        let provider = Unmanaged.passUnretained(found)
        insert(provider, hash: hash)
        return provider
    }

    /// Byte for byte (the generic `elementsEqual` of a `UTF8View` cost more than the hash).
    @inline(__always)
    private static func same(_ id: String, _ bytes: UnsafeRawBufferPointer) -> Bool {
        id.utf8.withContiguousStorageIfAvailable { stored in
            stored.count == bytes.count
                && (bytes.isEmpty
                    || memcmp(stored.baseAddress!, bytes.baseAddress!, bytes.count) == 0)
        } ?? id.utf8.elementsEqual(bytes)
    }

    private func insert(_ provider: Unmanaged<Provider>, hash: UInt64) {
        if 2 * (count + 1) > providers.count { grow() }
        let mask = providers.count - 1
        var slot = Int(truncatingIfNeeded: hash) & mask
        while providers[slot] != nil { slot = (slot + 1) & mask }
        hashes[slot] = hash
        providers[slot] = provider
        count += 1
    }

    private func grow() {
        let (oldHashes, oldProviders) = (hashes, providers)
        hashes = [UInt64](repeating: 0, count: 2 * oldProviders.count)
        providers = [Unmanaged<Provider>?](repeating: nil, count: 2 * oldProviders.count)
        count = 0
        for slot in oldProviders.indices {
            if let provider = oldProviders[slot] { insert(provider, hash: oldHashes[slot]) }
        }
    }
}
