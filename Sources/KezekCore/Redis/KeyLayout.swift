/// Where Kezek keeps its state in Redis. Every key of a provider carries the provider id as a
/// `{hash tag}`, so a provider's keys live on one Redis Cluster slot.
///
///     <prefix>:providers            SET    every provider id
///     <prefix>:{<P>}:capacity       STRING the provider's capacity
///     <prefix>:{<P>}:booked         SET    holders with a seat (written back after data loss)
///     <prefix>:{<P>}:booked-batches HASH   holders with a seat, a batch's in one field (on a lone Redis as
///                                          the run's place in the audit log), and masks
///                                          of seats given up (BookedBatches)
///     <prefix>:{<P>}:waiting        ZSET   waiting holders, scored by arrival (lowest first)
///     <prefix>:{<P>}:refused        STRING BOOKs answered +FULL so far (unmet demand)
///     <prefix>:{<P>}:offers         HASH   holder -> expiry of its offer (Unix milliseconds)
///     <prefix>:{<P>}:rounds         HASH   the round that placed or queued each holder here, and its rank:
///                                          `#<round>` -> "<holder> <rank> …" (a draw's part), or
///                                          holder -> "<round> <rank>" or "-" (RoundTagFields)
///     <prefix>:audit                STREAM the audit log: one entry per atomic step (epoch, seq, then
///                                          one `<op>` → `<provider> <holder>[ <round> <rank>]` per change)
///     <prefix>:audit:writeback      STREAM the log a write-back after data loss is writing; it replaces
///                                          `audit` (RENAME) once every provider is written back
///     <prefix>:rounds               HASH   round id -> its state (open, closed, drawing, drawn)
///     <prefix>:{round:<R>}:meta     HASH   commitment, choices, seed, drawn-at (ms), outcome counts
///     <prefix>:{round:<R>}:apps     HASH   holder -> its choices, space-separated, `provider[/level]`
///     <prefix>:{round:<R>}:free     HASH   provider -> seats free at the draw (kept so a re-sent DRAW gives the same result)
///     <prefix>:{lease}:owner        STRING node id of the daemon that holds the lease (PX lease-ttl)
///     <prefix>:{lease}:epoch        STRING fencing epoch of the current holder; grows on every takeover
///     <prefix>:{lease}:seq:<T>      STRING batches loop thread T applied under the epoch (data-loss marker)
///     <prefix>:{lease}:steps        STRING the audit log's last step number under the epoch
///     <prefix>:{lease}:writeback    STRING lease value of a daemon writing its state back (gone once done)
///
/// On Redis Cluster (`redis-cluster`) a daemon serves one shard, and the keys that are the
/// shard's own carry the shard's tag (`ShardTag`) instead, so they live on its master:
/// `<prefix>:{<shard>}:providers`, `…:rounds`, `…:owner`, `…:epoch`, `…:seq:<T>`, `…:steps`,
/// `…:audit` (the shard's audit log), `…:inbox`, `…:inbox-state` and `…:foreign-rounds` (the
/// messages of other shards' holders: `ShardInbox`), and
/// `…:address` (the holder's client address, for `-MOVED` replies; PX lease-ttl). A round's
/// keys there carry the round id itself as their tag, `<prefix>:{<R>}:meta`: the slot a
/// cluster client routes the round's commands by (COMMAND names the id as their key), so
/// they live on the master of the shard that runs the round (docs/SCALING.md).
public struct KeyLayout: Sendable {
    public let prefix: String
    /// The hash tag of the keys not tagged by a provider or a round: `lease`, or a shard's.
    let ownTag: String?

    /// The layout of one Redis Cluster shard (its own keys carry the shard's tag).
    var isShard: Bool { ownTag != nil }

    public init(prefix: String, shardTag: String? = nil) {
        self.prefix = prefix
        ownTag = shardTag
    }

    public var providers: String {
        ownTag.map { "\(prefix):{\($0)}:providers" } ?? "\(prefix):providers"
    }
    public func capacity(_ provider: String) -> String { "\(prefix):{\(provider)}:capacity" }
    public func booked(_ provider: String) -> String { "\(prefix):{\(provider)}:booked" }
    public func bookedBatches(_ provider: String) -> String {
        "\(prefix):{\(provider)}:booked-batches"
    }
    public func waiting(_ provider: String) -> String { "\(prefix):{\(provider)}:waiting" }
    public func refused(_ provider: String) -> String { "\(prefix):{\(provider)}:refused" }
    public func offers(_ provider: String) -> String { "\(prefix):{\(provider)}:offers" }
    public func roundTags(_ provider: String) -> String { "\(prefix):{\(provider)}:rounds" }
    /// The audit log of this lease: one entry per atomic step (PROTOCOL.md "Transparency").
    public var auditLog: String { ownTag.map { "\(prefix):{\($0)}:audit" } ?? "\(prefix):audit" }
    /// The log a write-back after data loss writes, which then replaces `auditLog` (RENAME).
    public var auditLogWriteBack: String { auditLog + ":writeback" }
    /// The last step number the audit log gave out under the current epoch.
    public var logSteps: String { "\(prefix):{\(leaseTag)}:steps" }
    /// A provider's audit stream as releases before the one log kept it: read only to say
    /// that one exists (they are left alone).
    public func legacyAudit(_ provider: String) -> String { "\(prefix):{\(provider)}:audit" }
    public var rounds: String { ownTag.map { "\(prefix):{\($0)}:rounds" } ?? "\(prefix):rounds" }
    public func roundMeta(_ round: String) -> String { "\(prefix):{\(roundTag(round))}:meta" }
    public func roundApplications(_ round: String) -> String {
        "\(prefix):{\(roundTag(round))}:apps"
    }
    public func roundFreeSeats(_ round: String) -> String {
        "\(prefix):{\(roundTag(round))}:free"
    }
    /// `round:<R>` on a lone Redis (as every release wrote it); the id alone on a cluster
    /// shard, whose slot is the one clients route the round's commands by.
    private func roundTag(_ round: String) -> String { isShard ? round : "round:\(round)" }
    private var leaseTag: String { ownTag ?? "lease" }
    public var leaseOwner: String { "\(prefix):{\(leaseTag)}:owner" }
    public var leaseEpoch: String { "\(prefix):{\(leaseTag)}:epoch" }
    public func batchSequence(thread: Int) -> String { "\(prefix):{\(leaseTag)}:seq:\(thread)" }
    /// Set while a daemon writes its whole state back after data loss: Redis holds only part
    /// of it meanwhile, and no other daemon takes the lease over that part.
    public var writeBackMarker: String { "\(prefix):{\(leaseTag)}:writeback" }
    /// The lease holder's client address (cluster mode).
    public var ownerAddress: String { "\(prefix):{\(leaseTag)}:address" }
    /// Cluster mode: messages other shards' holders post to this one (`ShardInbox`).
    public var inbox: String { "\(prefix):{\(leaseTag)}:inbox" }
    /// Cluster mode: field `applied`, the id of the last inbox message applied here, written
    /// in the same batch as the message's effects.
    public var inboxState: String { "\(prefix):{\(leaseTag)}:inbox-state" }
    /// Cluster mode: rounds other shards run that hold this one (round id -> `frozen`): BOOK
    /// answers `+ROUND` here until their thaw.
    public var foreignRounds: String { "\(prefix):{\(leaseTag)}:foreign-rounds" }
}
