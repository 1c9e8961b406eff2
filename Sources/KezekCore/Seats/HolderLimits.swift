import Synchronization

/// Seats per holder across all providers, for the per-holder limit (`holder-limit`).
///
/// Sharded by holder so that unrelated holders do not contend; a reservation is a check and an
/// increment under one shard's lock, so two providers racing for the same holder's last seat
/// cannot both win. Inactive (every call a no-op) when the limit is 0. On redis-cluster the
/// count lives at each holder's home master instead, and a BOOK runs with a `UnitGrant`.
/// (Not final for that one subclass; its state is its locked shards: @unchecked.)
public class HolderLimits: @unchecked Sendable {
    public let limit: Int
    private static let shardCount = 64
    private let shards: [LockedBox<[String: Int]>]

    public init(limit: Int) {
        self.limit = limit
        shards = (0..<(limit > 0 ? Self.shardCount : 0)).map { _ in LockedBox([:]) }
    }

    public var isActive: Bool { limit > 0 }

    /// Takes one seat for `holder`; false when it already holds `limit` seats.
    public func reserve(_ holder: String) -> Bool {
        guard isActive else { return true }
        return shard(holder).withLock { counts in
            let held = counts[holder, default: 0]
            guard held < limit else { return false }
            counts[holder] = held + 1
            return true
        }
    }

    /// Gives back one seat of `holder`.
    public func release(_ holder: String) {
        guard isActive else { return }
        shard(holder).withLock { counts in
            let held = counts[holder, default: 0]
            counts[holder] = held > 1 ? held - 1 : nil
        }
    }

    /// Counts a seat that recovery found in Redis, whatever the limit.
    public func restore(_ holder: String) {
        guard isActive else { return }
        shard(holder).withLock { $0[holder, default: 0] += 1 }
    }

    /// True when `holder` holds `limit` seats already (false when there is no limit).
    public func isAtLimit(_ holder: String) -> Bool {
        isActive && seats(of: holder) >= limit
    }

    public func seats(of holder: String) -> Int {
        guard isActive else { return 0 }
        return shard(holder).withLock { $0[holder, default: 0] }
    }

    private func shard(_ holder: String) -> LockedBox<[String: Int]> {
        shards[Int(UInt(bitPattern: holder.hashValue) % UInt(Self.shardCount))]
    }
}
