// What a nemesis run prints: its figures (requests by outcome, faults by class) and every
// anomaly by class with the smallest sub-history that shows it, and the seed to replay it.
import KezekNemesis

struct NemesisReport {
    let seed: UInt64
    let seconds: Double
    let result: HistoryChecker.Result
    let operations: [HistoryOperation]
    let roundOperations: [RoundOperation]
    /// Fair rounds played.
    let rounds: Int
    let counts: (injected: [FaultClass: Int], skipped: [FaultClass: Int])
    /// The classes the run could draw (its topology's, or --faults).
    let classes: [FaultClass]
    /// The options besides --seed and --seconds that shaped the run (`NemesisCommand.shaping`).
    let shaping: String

    func print() {
        let answered = operations.filter { !$0.isUnknown && !$0.isFailed }.count
        let unknown = operations.filter(\.isUnknown).count
        let failed = operations.filter(\.isFailed).count
        Swift.print(
            "requests: \(operations.count) (answered \(answered), unknown \(unknown), "
                + "failed \(failed)); "
                + "holder histories checked: \(result.keysChecked), undecided: \(result.undecided)")
        if rounds > 0 {
            let unknownRound = roundOperations.filter(\.isUnknown).count
            Swift.print(
                "fair rounds: \(rounds) drawn and checked, \(roundOperations.count) round requests "
                    + "(unknown \(unknownRound))")
        }
        let injected = classes.map { "\($0.rawValue)=\(counts.injected[$0] ?? 0)" }
        Swift.print(
            "faults injected: \(counts.injected.values.reduce(0, +)) "
                + "(\(injected.joined(separator: " ")))"
        )
        let skipped = counts.skipped.filter { $0.value > 0 }.sorted {
            $0.key.rawValue < $1.key.rawValue
        }
        if !skipped.isEmpty {
            Swift.print(
                "faults skipped (precondition not met): "
                    + skipped.map { "\($0.key.rawValue)=\($0.value)" }.joined(separator: " "))
        }
        var byKind: [Anomaly.Kind: [Anomaly]] = [:]
        for anomaly in result.anomalies { byKind[anomaly.kind, default: []].append(anomaly) }
        for kind in Anomaly.Kind.allCases {
            guard let found = byKind[kind] else { continue }
            Swift.print("ANOMALY \(kind.rawValue): \(found.count)")
            for anomaly in found.prefix(3) {
                Swift.print("  \(anomaly.subject): \(anomaly.detail)")
                for operation in anomaly.history.prefix(25) { Swift.print("    \(operation)") }
                for operation in anomaly.roundHistory.prefix(25) {
                    Swift.print("    \(operation)")
                }
                if anomaly.history.count > 25 {
                    Swift.print("    … \(anomaly.history.count - 25) more")
                }
            }
        }
        let verdict =
            result.anomalies.isEmpty ? "no anomaly" : "\(result.anomalies.count) anomalies"
        Swift.print(
            "nemesis: \(verdict) in \(Int(seconds)) s; reproduce with: "
                + "kezek-bench nemesis --seed \(seed) --seconds \(Int(seconds))\(shaping)"
        )
    }
}
