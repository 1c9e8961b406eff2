import KezekClientSupport

extension SplitMix64 {
    /// kezek-bench's seeding: the state starts one step past `seed`, as it always has, so a
    /// `--seed` recorded from an earlier run (a nemesis failure, a published workload) replays
    /// exactly.
    init(workloadSeed seed: UInt64) { self.init(seed: seed &+ 0x9E37_79B9_7F4A_7C15) }
}
