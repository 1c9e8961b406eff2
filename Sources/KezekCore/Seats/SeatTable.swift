import Synchronization

/// Every provider, in a fixed number of shards keyed by a hash of the provider id.
///
/// Providers are created rarely (PROVIDER, catalog, recovery) and never removed, so each loop
/// thread keeps a `ProviderCache` in front of the table and takes a shard lock only on a miss.
public final class SeatTable: Sendable {
    public static let shardCount = 64
    private let shards: [LockedBox<[String: Provider]>]
    private let outboxes: [MirrorOutbox]
    public let rules: Provider.BookingRules

    public init(outboxes: [MirrorOutbox], rules: Provider.BookingRules) {
        let hasThreads = !outboxes.isEmpty
        precondition(hasThreads, "at least one loop thread")
        self.outboxes = outboxes
        self.rules = rules
        shards = (0..<Self.shardCount).map { _ in LockedBox([:]) }
    }

    public var threadCount: Int { outboxes.count }

    public func provider(_ id: String) -> Provider? {
        shard(for: id).withLock { $0[id] }
    }

    /// Returns the provider, creating it with `capacity` when it does not exist yet.
    /// `created` tells which happened. `announce` runs on a new provider before any other
    /// thread can find it: a write it queues reaches Redis before any booking's.
    public func providerCreatingIfNeeded(
        _ id: String, capacity: Int,
        announce: ((Provider) -> Void)? = nil
    ) -> (provider: Provider, created: Bool) {
        let hash = Self.stableHash(id)
        return shards[Int(hash % UInt64(Self.shardCount))].withLock { providers in
            if let existing = providers[id] { return (existing, false) }
            let owner = Int(hash % UInt64(outboxes.count))
            let provider = Provider(
                id: id, owner: owner, outbox: outboxes[owner], capacity: capacity)
            announce?(provider)
            providers[id] = provider
            return (provider, true)
        }
    }

    /// The loop thread that owns (mirrors) provider `id`, whether or not it exists yet.
    public func ownerOf(_ id: String) -> Int {
        Int(Self.stableHash(id) % UInt64(outboxes.count))
    }

    public var allProviders: [Provider] {
        shards.flatMap { shard in shard.withLock { Array($0.values) } }
    }

    public var providerCount: Int {
        shards.reduce(0) { sum, shard in sum + shard.withLock { $0.count } }
    }

    private func shard(for id: String) -> LockedBox<[String: Provider]> {
        shards[Int(Self.stableHash(id) % UInt64(Self.shardCount))]
    }

    /// FNV-1a: the same id lands on the same shard and owner in every run (easier to debug
    /// than Swift's per-process seeded hash).
    static func stableHash(_ id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}

/// A loop thread's own map of providers it has seen: lookups without any lock.
///
/// It counts no reference: providers are never removed, so the table keeps every one alive as
/// long as the server runs, and a reference count on a provider every thread books is one
/// more cache line all of them write per BOOK (the admission path is careful to write none).
final class ProviderCache {
    private let table: SeatTable
    private var known: [String: Unmanaged<Provider>] = [:]

    init(table: SeatTable) { self.table = table }

    /// Runs `body` on provider `id` (nil when there is none), passing it without a retain.
    func withProvider<Result>(_ id: String, _ body: (Provider) -> Result) -> Result? {
        guard let provider = lookUp(id) else { return nil }
        return provider._withUnsafeGuaranteedRef(body)
    }

    func provider(_ id: String) -> Provider? {
        lookUp(id)?.takeUnretainedValue()
    }

    private func lookUp(_ id: String) -> Unmanaged<Provider>? {
        if let provider = known[id] { return provider }
        guard let provider = table.provider(id) else { return nil }
        let unmanaged = Unmanaged.passUnretained(provider)
        known[id] = unmanaged
        return unmanaged
    }
}
