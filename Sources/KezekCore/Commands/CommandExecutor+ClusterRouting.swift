/// On Redis Cluster, a daemon answers for the providers of its own shard and sends the rest
/// where they are served, as a Redis Cluster node does: `-MOVED <slot> <host:port>`
/// (cluster-aware clients follow it and remember the slot's node), or `-UNAVAILABLE` while
/// no daemon holds that shard (its holder died and a standby is taking over: retry).
extension CommandExecutor {
    /// The reply that sends a request for `provider` elsewhere; nil when it is answered here.
    func routeElsewhere(
        _ provider: UnsafeRawBufferPointer, _ directory: ClusterDirectory, role: ServerState.Role
    ) -> Reply? {
        let generation = directory.generation.load(ordering: .acquiring)
        if generation != directoryGeneration {
            directorySnapshot = directory.snapshot
            directoryGeneration = generation
        }
        guard let snapshot = directorySnapshot else {
            return .slotMapNotRead
        }
        switch ClusterDirectory.route(
            provider, in: snapshot, own: settings.listen,
            serving: role != .standby && role != .fenced)
        {
        case .here:
            return nil
        case .moved(let slot, let holder):
            return .moved(slot: slot, to: holder)
        case .nobody(let slot):
            return .noServer(slot: slot)
        }
    }
}
