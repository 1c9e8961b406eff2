// Which topology `kezek-bench nemesis --topology` starts, and the fault classes it plays.
enum NemesisTopologyKind: String, CaseIterable, Sendable {
    /// One Redis (AOF), a holder and a warm standby (NemesisTopology).
    case single
    /// A primary, two replicas and three Sentinels under the two kezekd (SentinelTopology).
    case sentinel
    /// Redis Cluster, 3 masters and 3 replicas, a holder and a standby per shard
    /// (ClusterNemesisTopology).
    case cluster

    /// Only `single` has a proxy between kezekd and Redis (the Sentinels hand out Redis's real
    /// addresses: a reset is the primary's CLIENT KILL there) and a Redis that restarts alone;
    /// only `sentinel` has replicas to fail over to; `cluster` has its own list.
    var faultClasses: [FaultClass] {
        let sentinelOnly: [FaultClass] = [.primaryKill, .sentinelFailover, .laggingFailover]
        let singleOnly: [FaultClass] = [
            .redisKillAOF, .redisRestartEmpty, .redisPartition, .redisDelay,
        ]
        switch self {
        case .single:
            return FaultClass.allCases.filter {
                !sentinelOnly.contains($0) && $0 != .redisMasterKill
            }
        case .sentinel:
            return FaultClass.allCases.filter {
                !singleOnly.contains($0) && $0 != .redisMasterKill
            }
        case .cluster: return FaultClass.cluster
        }
    }
}
