// A gateway's fair-round requests (APPLY, WITHDRAW, RESULT) and the admin's (PROVIDER,
// ROUND OPEN, CLOSE, DRAW), sent and retried as the seat requests are, each attempt recorded.
import Foundation
import KezekClientSupport
import KezekNemesis

extension GatewayClient {
    /// One request of the round under way: while it is open, one of this client's own
    /// applicants applies (the same holder's writes always come from one client), withdraws
    /// or reads its RESULT; once it is drawn, any applicant's RESULT is read.
    func roundRequest(_ round: RoundSpec, _ state: NemesisRounds.State, until deadline: Double) {
        let roll = random.unit()
        if state == .drawn {
            let client = Int(random.next() % UInt64(rounds?.clients ?? 1))
            let holder = NemesisRounds.holder(
                round: round.name, client: client,
                index: Int(random.next() % UInt64(NemesisRounds.holdersPerClient)))
            performRound(.result, round, holder, until: deadline)
            return
        }
        let holder = NemesisRounds.holder(
            round: round.name, client: id,
            index: Int(random.next() % UInt64(NemesisRounds.holdersPerClient)))
        if roll < 0.6 {
            var providers = round.providers
            var choices: [String] = []
            let count = 1 + Int(random.next() % UInt64(NemesisRounds.choicesPerApplicant))
            for _ in 0..<count {
                let provider = providers.remove(at: Int(random.next() % UInt64(providers.count)))
                // Some choices carry a priority level (a sibling, a resident: PROTOCOL.md).
                let level = random.unit() < 0.7 ? 0 : 1 + Int(random.next() % 2)
                choices.append(level == 0 ? provider : "\(provider)/\(level)")
            }
            performRound(.apply(choices), round, holder, until: deadline)
        } else if roll < 0.7 {
            performRound(.withdraw, round, holder, until: deadline)
        } else {
            performRound(.result, round, holder, until: deadline)
        }
    }

    /// One round request as a gateway sends it: at most four attempts. Returns the last
    /// attempt's outcome.
    @discardableResult
    func performRound(
        _ request: RoundOperation.Request, _ round: RoundSpec, _ holder: String,
        until deadline: Double
    ) -> RoundOperation.Outcome {
        let line: String
        switch request {
        case .apply(let choices):
            line = "APPLY \(round.name) \(holder) \(choices.joined(separator: " "))"
        case .withdraw: line = "WITHDRAW \(round.name) \(holder)"
        case .result: line = "RESULT \(round.name) \(holder)"
        case .draw: line = "ROUND DRAW \(round.name) \(round.seed)"
        }
        var outcome = RoundOperation.Outcome.failed("not sent")
        for _ in 0..<4 where monotonicNow() < deadline {
            let node = preferred
            let invoked = recorder.now()
            let (reply, why) = exchange(line, on: node)
            if let reply {
                outcome = RoundOperation.outcome(of: reply, to: request)
            } else {
                outcome = why == "refused" ? .failed(why) : .unknown(why)
            }
            var operation = RoundOperation(
                client: id, round: round.name, holder: holder, request: request, invoked: invoked,
                completed: recorder.now(), outcome: outcome)
            switch outcome {
            case .unknown:
                operation.completed = .max
                recorder.record(operation)
                preferred = (node + 1) % ports.count
            case .failed(let why):
                recorder.record(operation)
                if why.hasPrefix("UNAVAILABLE standby") || why.hasPrefix("UNAVAILABLE fenced")
                    || why.hasPrefix("UNAVAILABLE lease lapsed") || why == "refused"
                {
                    preferred = (node + 1) % ports.count
                } else if !why.hasPrefix("UNAVAILABLE") && !why.hasPrefix("LOADING") {
                    return outcome
                }
            default:
                recorder.record(operation)
                return outcome
            }
            usleep(30_000)
        }
        return outcome
    }

    /// An admin request sent until a reply `accepts` it (any node, any number of attempts)
    /// or `deadline` passes; not recorded (it sets the round up: the checker needs its
    /// result, not its history).
    func admin(_ line: String, until deadline: Double, accepts: (String) -> Bool) -> Bool {
        while monotonicNow() < deadline {
            let node = preferred
            let (reply, _) = exchange(line, on: node)
            if let reply, accepts(reply) { return true }
            if reply == nil || reply!.hasPrefix("-UNAVAILABLE standby")
                || reply!.hasPrefix("-UNAVAILABLE fenced")
                || reply!.hasPrefix("-UNAVAILABLE lease lapsed")
            {
                preferred = (node + 1) % ports.count
            }
            usleep(50_000)
        }
        return false
    }

    /// `ROUND DRAW` until it is answered `+DRAWN`, every attempt recorded (each `+DRAWN` of
    /// a round must say the same).
    func draw(_ round: RoundSpec, until deadline: Double) -> Bool {
        while monotonicNow() < deadline {
            if case .drawn = performRound(.draw, round, "", until: deadline) { return true }
            usleep(50_000)
        }
        return false
    }
}
