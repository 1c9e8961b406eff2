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
    static func stableHash(_ id: String) -> UInt64 { stableHash(bytes: id.utf8) }

    /// `stableHash` of an id's bytes as a request holds them (`ProviderCache`).
    static func stableHash(_ id: UnsafeRawBufferPointer) -> UInt64 { stableHash(bytes: id) }

    @inline(__always)
    private static func stableHash(bytes: some Sequence<UInt8>) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return hash
    }
}
