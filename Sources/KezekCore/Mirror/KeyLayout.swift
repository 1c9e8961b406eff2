/// Where Kezek keeps its state in Redis. Every key of a provider carries the provider id as a
/// `{hash tag}`, so a provider's keys live on one Redis Cluster slot.
///
///     <prefix>:providers            SET    every provider id
///     <prefix>:{<P>}:capacity       STRING the provider's capacity
///     <prefix>:{<P>}:booked         SET    holders with a seat
///     <prefix>:{<P>}:waiting        ZSET   waiting holders, scored by arrival (lowest first)
///     <prefix>:{<P>}:refused        STRING BOOKs answered +FULL so far (unmet demand)
///     <prefix>:{lease}:owner        STRING node id of the daemon that holds the lease (PX lease-ttl)
///     <prefix>:{lease}:epoch        STRING fencing epoch of the current holder; grows on every takeover
///     <prefix>:{lease}:seq:<T>      STRING batches loop thread T applied under the epoch (data-loss marker)
public struct KeyLayout: Sendable {
    public let prefix: String

    public init(prefix: String) { self.prefix = prefix }

    public var providers: String { "\(prefix):providers" }
    public func capacity(_ provider: String) -> String { "\(prefix):{\(provider)}:capacity" }
    public func booked(_ provider: String) -> String { "\(prefix):{\(provider)}:booked" }
    public func waiting(_ provider: String) -> String { "\(prefix):{\(provider)}:waiting" }
    public func refused(_ provider: String) -> String { "\(prefix):{\(provider)}:refused" }
    public var leaseOwner: String { "\(prefix):{lease}:owner" }
    public var leaseEpoch: String { "\(prefix):{lease}:epoch" }
    public func batchSequence(thread: Int) -> String { "\(prefix):{lease}:seq:\(thread)" }
}
