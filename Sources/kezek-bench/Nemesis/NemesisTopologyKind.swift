// Which topology `kezek-bench nemesis --topology` starts, and the fault classes it plays.
enum NemesisTopologyKind: String, CaseIterable {
    /// One Redis (AOF), a holder and a warm standby (NemesisTopology).
    case single
    /// Redis with replicas under Sentinel: not built on this branch.
    case sentinel
    /// Redis Cluster, 3 masters and 3 replicas, a holder and a standby per shard
    /// (ClusterNemesisTopology).
    case cluster

    var faultClasses: [FaultClass] {
        switch self {
        case .single, .sentinel: FaultClass.allCases.filter { $0 != .redisMasterKill }
        case .cluster: FaultClass.cluster
        }
    }
}
