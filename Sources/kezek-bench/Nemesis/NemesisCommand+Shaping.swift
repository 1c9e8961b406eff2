// The replay line names every option that shapes a run besides its seed and length: the same
// seed with another --faults, --fault-gap or --holder-limit draws another schedule or checks
// another model, so a replay without them is another run.
extension NemesisCommand {
    /// The options that differ from their defaults and change what is played or checked,
    /// each with a leading space (empty for a run at the defaults).
    var shaping: String {
        guard let defaults = try? NemesisCommand.parse([]) else { return "" }
        var words: [String] = []
        func add(_ name: String, _ value: String, _ defaultValue: String) {
            if value != defaultValue { words += ["--\(name)", value] }
        }
        add("topology", topology, defaults.topology)
        add("clients", "\(clients)", "\(defaults.clients)")
        add("providers", "\(providers)", "\(defaults.providers)")
        add("holders", "\(holders)", "\(defaults.holders)")
        add("capacity", "\(capacity)", "\(defaults.capacity)")
        add("holder-limit", "\(holderLimit)", "\(defaults.holderLimit)")
        add("lease-ttl", "\(leaseTTL)", "\(defaults.leaseTTL)")
        add("timeout", "\(timeout)", "\(defaults.timeout)")
        add("fault-gap", "\(faultGap)", "\(defaults.faultGap)")
        if let faults { words += ["--faults", faults] }
        if !rounds { words.append("--no-rounds") }
        if let plantedBug { words += ["--planted-bug", plantedBug] }
        return words.map { " " + $0 }.joined()
    }
}
