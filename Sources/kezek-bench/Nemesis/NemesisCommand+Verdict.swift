// The end of a run on any topology: the history written out (`--history`), checked against the
// seat model, the report printed; exit 1 on an anomaly (Redis's data and the logs kept), else
// the topology stopped and the run's directory removed (unless one was given).
import ArgumentParser
import Foundation
import KezekNemesis

extension NemesisCommand {
    func judge(
        _ operations: [HistoryOperation], capacities: [(String, Int)], found: [Anomaly],
        rounds: Int, roundOperations: [RoundOperation],
        counts: (injected: [FaultClass: Int], skipped: [FaultClass: Int]),
        classes: [FaultClass], seed: UInt64, directory: String, stop: () -> Void
    ) throws {
        if let history {
            try operations.map(\.description).joined(separator: "\n").write(
                toFile: history, atomically: true, encoding: .utf8)
        }
        var result = HistoryChecker(
            operations: operations, capacity: Dictionary(uniqueKeysWithValues: capacities),
            holderLimit: holderLimit
        ).check()
        result.anomalies += found
        let report = NemesisReport(
            seed: seed, seconds: seconds, result: result, operations: operations,
            roundOperations: roundOperations, rounds: rounds, counts: counts, classes: classes,
            shaping: shaping)
        report.print()
        if !result.anomalies.isEmpty {
            print("nemesis: logs and Redis's data kept in \(directory)")
            throw ExitCode(1)
        }
        stop()
        if self.directory == nil { try? FileManager.default.removeItem(atPath: directory) }
    }
}
