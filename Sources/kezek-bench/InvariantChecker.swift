// After the load: asks the daemon `SEATS <p>` for every provider and `STATUS <p> <h>` for
// every holder whose outcome the run knows, and compares with what must hold:
//   booked + offered <= capacity, free = capacity - booked - offered, no free seat while
//   someone waits (a seat freed with `offer-ttl` > 0 goes to the waitlist's head as an offer,
//   so "taken" below means booked or offered),
//   booked/waiting equal to what the replies imply (where every reply was definite),
//   STATUS +BOOKED for every holder that got +BOOKED and did not cancel (and +WAITING <pos>
//   or +NONE where the run knows that instead).

struct ProviderExpectation {
    let id: String
    var capacity: Int?
    /// Seats the run saw booked and not cancelled: the daemon must report at least these.
    var bookedAtLeast = 0
    /// Exact expectations, when every request at this provider got a definite reply (seats
    /// taken: booked, or offered to a promoted waiter).
    var bookedExactly: Int?
    var waitingExactly: Int?
}

enum ExpectedStatus: Equatable {
    /// `promoted`: moved up from the waitlist; `+BOOKED`, or `+OFFERED` when offers are on.
    case booked, promoted, waiting(Int), none

    var text: String {
        switch self {
        case .booked: return "+BOOKED"
        case .promoted: return "+BOOKED or +OFFERED"
        case .waiting(let n): return "+WAITING \(n)"
        case .none: return "+NONE"
        }
    }
}

struct HolderExpectation {
    let provider: String
    let holder: String
    let expected: ExpectedStatus
    /// Why this is expected, for failure messages ("got +BOOKED 12 in burst").
    let why: String
}

struct InvariantReport {
    var providersChecked = 0
    var holdersChecked = 0
    var failures = 0
    var examples: [String] = []
    var skipped = false
    static let maxExamples = 12

    var passed: Bool { failures == 0 }

    mutating func fail(_ message: String) {
        failures += 1
        if examples.count < Self.maxExamples { examples.append(message) }
    }
}

enum InvariantChecker {
    static func check(
        providers: [ProviderExpectation], holders: [HolderExpectation],
        env: LoadEnvironment, pipeline: Int,
        startingWith earlier: InvariantReport = InvariantReport()
    ) -> (InvariantReport, [PhaseOutcome]) {
        var report = earlier
        var outcomes: [PhaseOutcome] = []

        let seatsBatch = RequestBatch()
        for p in providers { seatsBatch.add("SEATS", p.id) }
        let seatsResults = PhaseResults(count: providers.count, keepLines: true)
        let seats = PhaseRunner.run(
            PhasePlan(
                name: "seats", batch: seatsBatch, pipeline: pipeline,
                results: seatsResults), env: env)
        outcomes.append(seats)
        if seats.connectionsOpened == 0 {
            report.fail("could not connect to \(env.target) for the check")
            return (report, outcomes)
        }
        for (i, p) in providers.enumerated() {
            report.providersChecked += 1
            let got = seatsResults.line(i)
            guard let s = SeatsReply(got[...]) else {
                report.fail(
                    "SEATS \(p.id): expected +SEATS capacity=.. booked=.. free=.. waiting=.., got \(got)"
                )
                continue
            }
            var wrong: [String] = []
            if let c = p.capacity, s.capacity != c { wrong.append("capacity=\(c)") }
            let taken = s.booked + s.offered
            if taken > s.capacity { wrong.append("booked + offered <= capacity") }
            if s.free != s.capacity - taken {
                wrong.append("free = capacity - booked - offered = \(s.capacity - taken)")
            }
            if s.waiting > 0 && s.free > 0 { wrong.append("no free seat while \(s.waiting) wait") }
            if let b = p.bookedExactly, taken != b {
                wrong.append("booked + offered = \(b)")
            } else if taken < p.bookedAtLeast {
                wrong.append("booked >= \(p.bookedAtLeast) (acknowledged bookings)")
            }
            if let w = p.waitingExactly, s.waiting != w { wrong.append("waiting=\(w)") }
            if !wrong.isEmpty {
                report.fail("SEATS \(p.id): expected \(wrong.joined(separator: ", ")), got \(got)")
            }
        }

        if !holders.isEmpty {
            let statusBatch = RequestBatch()
            for h in holders { statusBatch.add("STATUS", h.provider, h.holder) }
            let statusResults = PhaseResults(count: holders.count, keepLines: true)
            let status = PhaseRunner.run(
                PhasePlan(
                    name: "status", batch: statusBatch, pipeline: pipeline,
                    results: statusResults), env: env)
            outcomes.append(status)
            for (i, h) in holders.enumerated() {
                report.holdersChecked += 1
                let (kind, value) = statusResults[i]
                let ok: Bool
                switch h.expected {
                case .booked: ok = kind == .booked
                case .promoted: ok = kind == .booked || statusResults.line(i).hasPrefix("+OFFERED")
                case .waiting(let n): ok = kind == .waiting && value == Int64(n)
                case .none: ok = kind == .idle
                }
                if !ok {
                    report.fail(
                        "STATUS \(h.provider) \(h.holder): expected \(h.expected.text) (\(h.why)), got \(statusResults.line(i))"
                    )
                }
            }
        }
        return (report, outcomes)
    }
}
