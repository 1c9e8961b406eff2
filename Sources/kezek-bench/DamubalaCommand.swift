// `kezek-bench damubala`: replays Almaty's 2023 voucher opening. Providers are created and
// most seats pre-booked (setup), then the applicants arrive at once (or over `--over` seconds),
// each asking one provider with BOOK ... WAIT, then a share of seat holders cancel, which must
// hand their seats to the head of each waitlist. The replies tell exactly what the daemon's
// state must be afterwards; the invariant check compares. With `--round` the same opening is
// a fair round instead (see `kezek-bench round`), compared with what the BOOK burst gives.
import ArgumentParser
import KezekDraw
import KezekClientSupport

struct DamubalaCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "damubala",
        abstract:
            "Replay the 2023 Almaty kindergarten voucher opening (setup, burst, cancellations).")

    @OptionGroup var common: CommonOptions

    @Option(help: "Providers (kindergartens).")
    var providers = 1_000

    @Option(help: "Seats in all.")
    var seats = 65_739

    @Option(help: "Seats already held before the burst.")
    var held = 42_958

    @Option(help: "Applicants arriving in the burst.")
    var applicants = 55_889

    @Option(
        help: "Spread the burst evenly over this many seconds (open loop); default: all at once.")
    var over: Double?

    @Option(name: [.customShort("c"), .long], help: "TCP connections.")
    var connections = 64

    @Option(
        name: [.customShort("P"), .long],
        help: "Burst requests in flight per connection (0 = no bound: all at once).")
    var pipeline = 0

    @Option(
        name: .customLong("setup-pipeline"),
        help: "Requests in flight per connection during setup and checks.")
    var setupPipeline = 256

    @Option(help: "Popularity skew over providers (Zipf exponent).")
    var skew = 1.0

    @Option(
        name: .customLong("cancel-fraction"),
        help: "Share of seat holders that cancel after the burst.")
    var cancelFraction = 0.1

    @Flag(
        help:
            "Run the opening as a fair round (APPLY burst, CLOSE, DRAW, checked) instead of the BOOK burst, and compare with first come, first served."
    )
    var round = false

    @Option(
        name: .customLong("round-choices"),
        help: "With --round: ranked choices per applicant (1 = only its damubala provider).")
    var roundChoices = 3

    @Option(
        name: .customLong("draw-seed"),
        help: "With --round: the round's seed (ROUND OPEN commits to its SHA-256).")
    var drawSeed = RoundRun.defaultDrawSeed

    func validate() throws {
        try CitySetup.validate(
            connections: connections, pipeline: pipeline, setupPipeline: setupPipeline,
            providers: providers, seats: seats, held: held)
        guard applicants >= 0, applicants <= 50_000_000 else {
            throw ValidationError("--applicants must be 0...50000000")
        }
        if let over {
            guard over > 0, over <= 3600 else {
                throw ValidationError("--over must be within (0, 3600]")
            }
        }
        guard skew >= 0 else { throw ValidationError("--skew must not be negative") }
        guard cancelFraction >= 0, cancelFraction <= 1 else {
            throw ValidationError("--cancel-fraction must be within 0...1")
        }
        guard (1...RankedChoice.maxChoices).contains(roundChoices), roundChoices <= providers else {
            throw ValidationError(
                "--round-choices must be 1...\(RankedChoice.maxChoices) and at most --providers")
        }
        try RoundRun.validate(drawSeed: drawSeed)
        if round, over != nil {
            throw ValidationError("--over applies to the BOOK burst, not to --round")
        }
    }

    func run() throws {
        let env = try common.environment(connections: connections)
        let ids = IDScheme(tag: common.effectiveTag)
        let work = try DamubalaWorkload.generate(
            providers: providers, seats: seats, held: held, applicants: applicants,
            skew: skew, seed: common.seed, ids: ids)
        let report = RunReport(command: "damubala", target: env.target.description)
        var arrival = over.map { "over \(Format.fixed($0, 1)) s" } ?? "at once"
        if round {
            arrival =
                "in a round (\(roundChoices) choice\(roundChoices == 1 ? "" : "s"), round \(RoundRun.roundID(ids)))"
        }
        report.headline =
            "kezek-bench damubala -> \(env.target): \(Format.count(providers)) providers, "
            + "\(Format.count(seats)) seats (\(Format.count(held)) held, \(Format.count(seats - held)) free), "
            + "\(Format.count(applicants)) applicants \(arrival), \(connections) connections, tag \(ids.tag.isEmpty ? "-" : ids.tag)"
        report.plotTitle = "kezek-bench damubala: latency by percentile"
        report.settings = [
            ("providers", .int(providers)), ("seats", .int(seats)), ("held", .int(held)),
            ("applicants", .int(applicants)), ("over", over.map { .double($0) } ?? .null),
            ("connections", .int(connections)), ("pipeline", .int(pipeline)),
            ("threads", .int(common.threads)),
            ("skew", .double(skew)), ("cancel_fraction", .double(cancelFraction)),
            ("seed", .int(Int(truncatingIfNeeded: common.seed))), ("tag", .string(ids.tag)),
            ("round", .bool(round)), ("round_choices", round ? .int(roundChoices) : .null),
            ("draw_seed", round ? .string(drawSeed) : .null),
        ]
        func done(_ latency: [SVGPlot.Series] = []) throws -> Never {
            throw ExitCode(try common.finish(report, latency: latency))
        }

        // Setup: providers, then the seats already held.
        guard
            let heldResults = CitySetup.run(
                work: work, env: env, report: report, setupPipeline: setupPipeline)
        else { try done() }
        let heldBooked = (0..<heldResults.count).filter { heldResults.kinds[$0] == .booked }.count
        if heldBooked != held {
            report.warn(
                "setup: \(Format.count(held - heldBooked)) of \(Format.count(held)) pre-bookings did not answer +BOOKED"
            )
        }

        if round {
            try done(roundOpening(env: env, work: work, heldResults: heldResults, report: report))
        }

        // The burst.
        let burstBatch = work.burstBatch()
        let burstResults = PhaseResults(count: burstBatch.count)
        let rate = over.map { Double(applicants) / $0 }
        let burst = PhaseRunner.run(
            PhasePlan(
                name: "burst", batch: burstBatch, pipeline: pipeline, rate: rate,
                results: burstResults), env: env)
        var burstSection = PhaseSection(
            outcome: burst, what: "\(Format.count(applicants)) BOOK <p> a:<n> WAIT", books: true)
        burstSection.notes.append(
            "burst wall time \(Format.fixed(burst.wallSeconds, 3)) s (first request sent to last reply)"
        )
        report.figures.append(("burst_wall_seconds", .double(burst.wallSeconds)))

        // What the replies say about each provider.
        var state = (0..<providers).map { ProviderTally(capacity: work.capacity[$0]) }
        for n in 0..<heldResults.count {
            let p = work.preProvider[n]
            switch heldResults.kinds[n] {
            case .booked: state[p].heldBooked += 1
            case .full, .limit: break
            default: state[p].uncertain = true
            }
        }
        for n in 0..<burstBatch.count {
            let p = work.applicantProvider[n]
            let (kind, value) = burstResults[n]
            switch kind {
            case .booked: state[p].burstBooked += 1
            case .waiting: state[p].waiters.append((n, Int(value)))
            case .full, .limit: break
            default: state[p].uncertain = true
            }
        }
        var earlier = InvariantReport()
        var freeAfterBurst = 0, waitingAfterBurst = 0
        for p in 0..<providers where !state[p].uncertain {
            let s = state[p]
            let booked = s.heldBooked + s.burstBooked
            freeAfterBurst += s.capacity - booked
            waitingAfterBurst += s.waiters.count
            if booked > s.capacity {
                earlier.fail(
                    "burst at \(ids.provider(p)): \(booked) +BOOKED replies (held+burst) for capacity \(s.capacity)"
                )
            }
            if !s.waiters.isEmpty && booked < s.capacity {
                earlier.fail(
                    "burst at \(ids.provider(p)): +WAITING given while only \(booked) of \(s.capacity) seats were booked"
                )
            }
            let positions = s.waiters.map { $0.position }.sorted()
            if !positions.enumerated().allSatisfy({ $0.offset + 1 == $0.element }) {
                earlier.fail(
                    "burst at \(ids.provider(p)): +WAITING positions are not 1...\(positions.count): \(positions.prefix(8))..."
                )
            }
        }
        burstSection.notes.append(
            "after the burst: \(Format.count(freeAfterBurst)) seats still free, "
                + "\(Format.count(waitingAfterBurst)) applicants waitlisted")
        report.phases.append(burstSection)

        // Cancellations: a seeded share of everyone holding a seat.
        var holders: [(provider: Int, holder: String, fromBurst: Int?)] = []
        for n in 0..<heldResults.count where heldResults.kinds[n] == .booked {
            holders.append((work.preProvider[n], ids.preHolder(n), nil))
        }
        for n in 0..<burstBatch.count where burstResults.kinds[n] == .booked {
            holders.append((work.applicantProvider[n], ids.applicant(n), n))
        }
        var rng = SplitMix64(workloadSeed: common.seed &+ 0x5EED)
        holders.shuffle(using: &rng)
        let cancelCount = min(
            holders.count, Int((Double(holders.count) * cancelFraction).rounded()))
        let cancelling = Array(holders.prefix(cancelCount))
        let cancelBatch = RequestBatch()
        for c in cancelling { cancelBatch.add("CANCEL", ids.provider(c.provider), c.holder) }
        let cancelResults = PhaseResults(count: cancelBatch.count)
        var cancelOutcome: PhaseOutcome?
        if cancelCount > 0 {
            let cancel = PhaseRunner.run(
                PhasePlan(
                    name: "cancel", batch: cancelBatch, pipeline: setupPipeline,
                    results: cancelResults), env: env)
            cancelOutcome = cancel
            var cancelledAt = [Int](repeating: 0, count: providers)
            for (i, c) in cancelling.enumerated() {
                state[c.provider].cancelAttempts += 1
                switch cancelResults.kinds[i] {
                case .cancelled: cancelledAt[c.provider] += 1
                case .notFound:
                    earlier.fail(
                        "CANCEL \(ids.provider(c.provider)) \(c.holder): expected +CANCELLED (it got +BOOKED), got +NOTFOUND"
                    )
                    state[c.provider].uncertain = true
                default: state[c.provider].uncertain = true
                }
            }
            var promoted = 0
            for p in 0..<providers {
                state[p].cancelled = cancelledAt[p]
                if !state[p].uncertain { promoted += min(cancelledAt[p], state[p].waiters.count) }
            }
            var section = PhaseSection(
                outcome: cancel,
                what:
                    "\(Format.count(cancelCount)) CANCEL <p> <h> (\(Format.fixed(cancelFraction * 100, 0))% of seat holders)"
            )
            section.notes.append("should promote \(Format.count(promoted)) waitlisted applicants")
            report.phases.append(section)
            report.figures.append(("promoted_expected", .int(promoted)))
        }

        // The check.
        if common.noCheck {
            var inv = earlier
            inv.skipped = earlier.passed
            report.invariants = inv
        } else {
            let cancelledHolders = Set(
                cancelling.indices.filter { cancelResults.kinds[$0] == .cancelled }
                    .map { cancelling[$0].holder })
            let attempted = Set(cancelling.map { $0.holder })
            var expect: [ProviderExpectation] = []
            var checks: [HolderExpectation] = []
            for p in 0..<providers {
                let s = state[p]
                let promoted = min(s.cancelled, s.waiters.count)
                var e = ProviderExpectation(id: ids.provider(p), capacity: s.capacity)
                e.bookedAtLeast = max(0, s.heldBooked + s.burstBooked - s.cancelAttempts)
                if !s.uncertain {
                    e.bookedExactly = s.heldBooked + s.burstBooked - s.cancelled + promoted
                    e.waitingExactly = s.waiters.count - promoted
                    for (n, pos) in s.waiters {
                        let expected: ExpectedStatus =
                            pos <= promoted ? .promoted : .waiting(pos - promoted)
                        checks.append(
                            HolderExpectation(
                                provider: ids.provider(p), holder: ids.applicant(n),
                                expected: expected,
                                why: "got +WAITING \(pos), \(promoted) promoted"))
                    }
                }
                expect.append(e)
            }
            for h in holders {
                if cancelledHolders.contains(h.holder) {
                    checks.append(
                        HolderExpectation(
                            provider: ids.provider(h.provider), holder: h.holder, expected: .none,
                            why: "got +BOOKED, then +CANCELLED"))
                } else if !attempted.contains(h.holder) {
                    checks.append(
                        HolderExpectation(
                            provider: ids.provider(h.provider), holder: h.holder, expected: .booked,
                            why: h.fromBurst == nil
                                ? "got +BOOKED in setup" : "got +BOOKED in the burst"))
                }
            }
            let (inv, outcomes) = InvariantChecker.check(
                providers: expect, holders: checks, env: env,
                pipeline: setupPipeline, startingWith: earlier)
            report.invariants = inv
            for o in outcomes {
                report.phases.append(
                    PhaseSection(
                        outcome: o, what: o.name == "seats" ? "SEATS <p>" : "STATUS <p> <h>",
                        showLatency: false))
            }
        }
        var series = [SVGPlot.Series(name: "burst: BOOK WAIT", histogram: burst.histogram)]
        if let c = cancelOutcome {
            series.append(SVGPlot.Series(name: "cancel: CANCEL", histogram: c.histogram))
        }
        try done(series)
    }

    /// `--round`: the opening as a fair round (RoundRun: OPEN, APPLY burst, CLOSE, DRAW, every
    /// RESULT and SEATS checked against the harness's own draw), then the figures next to
    /// first come, first served. The offers are left to expire (confirmations and declines
    /// are `kezek-bench round`'s). Returns the latency series.
    private func roundOpening(
        env: LoadEnvironment, work: DamubalaWorkload, heldResults: PhaseResults,
        report: RunReport
    ) -> [SVGPlot.Series] {
        guard let heldBooked = RoundRun.heldSeats(work: work, results: heldResults, report: report)
        else { return [] }
        let run = RoundRun(
            env: env, report: report, work: work, heldBooked: heldBooked,
            choices: RoundRun.rankedChoices(work: work, choices: roundChoices, seed: common.seed),
            choiceLimit: roundChoices, drawSeed: drawSeed, pipeline: pipeline,
            setupPipeline: setupPipeline,
            check: !common.noCheck)
        if run.opening() { run.checkDraw() }
        run.finishReport()

        // First come, first served (the BOOK burst, one choice each): whatever the order of
        // arrival, each provider's free seats go to as many of those who ask as they seat.
        var demand = [Int](repeating: 0, count: providers)
        for p in work.applicantProvider { demand[p] += 1 }
        let free = run.expected.freeSeats
        let fcfsPlaced = zip(free, demand).reduce(0) { $0 + min($1.0, $1.1) }
        let freeTotal = free.reduce(0, +)
        if let i = report.phases.lastIndex(where: { $0.outcome.name == "draw" }) {
            report.phases[i].notes += [
                "first come, first served (the BOOK burst, one choice each): placed \(Format.count(fcfsPlaced)) of "
                    + "\(Format.count(applicants)) (first choice \(Format.count(fcfsPlaced))), unplaced \(Format.count(applicants - fcfsPlaced)), "
                    + "seats left empty \(Format.count(freeTotal - fcfsPlaced)) of \(Format.count(freeTotal))",
                "placements are left as the draw made them (offers expire by themselves); --cancel-fraction is for the BOOK burst, "
                    + "kezek-bench round confirms and declines",
            ]
        }
        report.figures += [
            ("fcfs_placed", .int(fcfsPlaced)), ("fcfs_first_choice", .int(fcfsPlaced)),
            ("fcfs_seats_empty", .int(freeTotal - fcfsPlaced)),
        ]
        return run.latency
    }
}

/// What the replies say about one provider.
struct ProviderTally {
    let capacity: Int
    var heldBooked = 0
    var burstBooked = 0
    /// Applicants told +WAITING: (applicant number, position).
    var waiters: [(applicant: Int, position: Int)] = []
    /// +CANCELLED replies at this provider.
    var cancelled = 0
    /// Some request here got no definite reply: only the generic invariants apply.
    var uncertain = false

    init(capacity: Int) { self.capacity = capacity }

    /// CANCEL requests sent for seats here, whatever their reply.
    var cancelAttempts = 0
}
