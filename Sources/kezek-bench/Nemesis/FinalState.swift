// After the faults healed: every daemon is killed (kill -9) and one is started alone, so that
// what it serves is what Redis kept; then SEATS of every provider and STATUS of every holder
// are read into the history (client -1), and `kezek-audit replay` compares the audit log with
// what the daemon serves.
import Foundation
import KezekNemesis
import KezekClientSupport

struct FinalState {
    let topology: NemesisTopology
    let node: KezekNode

    init(topology: NemesisTopology, workload: NemesisWorkload, recorder: HistoryRecorder) throws {
        self.topology = topology
        // Let the survivors settle first (a write-back after a loss of Redis's data).
        try? topology.waitFor("a primary after the faults", timeout: 30) {
            topology.primary() != nil
        }
        if topology.pointed {
            // Nodes of a deployment the tool did not start are left running: what the one
            // serving answers now is read.
            guard let primary = topology.primary() else {
                throw NemesisError("no node serves after the faults healed")
            }
            node = primary
        } else {
            topology.stopSupervising()
            for node in topology.nodes {
                node.process.heldDown = true
                node.process.killNow()
            }
            node = topology.nodes[0]
            try node.process.start()
            try topology.waitFor("kezekd serving again from Redis alone", timeout: 60) {
                node.isServingPrimary
            }
        }
        let socket = try LineClient(port: Int(node.port), timeout: 2)
        try FinalReads(workload: workload, recorder: recorder) { _ in socket }.readAll()
    }

    /// Every round's published draw, SEATS of its providers, and RESULT of every applicant
    /// (into the history, as client -1), from the daemon started alone.
    func readRounds(_ rounds: NemesisRounds, recorder: HistoryRecorder) throws -> [String:
        RoundFinal]
    {
        let socket = try LineClient(port: Int(node.port), timeout: 2)
        var finals: [String: RoundFinal] = [:]
        for round in rounds.all {
            guard let csv = get("/rounds/\(round.name)/draw.csv") else { continue }
            var seats: [String: (booked: Int, waiting: Int)] = [:]
            for provider in round.providers {
                let reply = try socket.request("SEATS \(provider)", timeout: 5)
                if case .seats(_, let booked, let waiting) = GatewayClient.parse(reply, .seats) {
                    seats[provider] = (booked, waiting)
                }
            }
            for holder in rounds.holders(of: round.name) {
                let invoked = recorder.now()
                let reply = try socket.request("RESULT \(round.name) \(holder)", timeout: 5)
                recorder.record(
                    RoundOperation(
                        client: HistoryChecker.finalClient, round: round.name, holder: holder,
                        request: .result, invoked: invoked, completed: recorder.now(),
                        outcome: RoundOperation.outcome(of: reply, to: .result)))
            }
            finals[round.name] = RoundFinal(
                rows: csv.split(separator: "\n").compactMap { PublishedRow(csv: $0) },
                seats: seats)
        }
        return finals
    }

    /// The body of an HTTP GET of `path` on the node's public listener; nil unless 200.
    private func get(_ path: String) -> String? {
        guard let socket = try? LineClient(port: Int(node.publicPort), timeout: 2),
            (try? socket.send(
                "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
                != nil
        else { return nil }
        let (lines, _) = socket.readUntilClosed(timeout: 10)
        guard lines.first?.contains(" 200 ") == true,
            let blank = lines.firstIndex(where: { $0.isEmpty })
        else { return nil }
        return lines[(blank + 1)...].joined(separator: "\n")
    }

    /// `kezek-audit replay` against Redis and the daemon: an anomaly for each difference.
    func replayAudit(_ binary: String) -> [Anomaly] {
        AuditReplay.anomalies(
            binary: binary,
            arguments: [
                "--redis", "127.0.0.1:\(topology.redisPrimaryPort())", "--kezekd",
                "127.0.0.1:\(node.port)", "--key-prefix", topology.keyPrefix,
            ])
    }
}
