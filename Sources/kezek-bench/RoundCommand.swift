// `kezek-bench round`: the DamuBala opening as a fair round against the daemon. Providers
// are created and the seats held before the round are booked (as in `damubala`), then
// ROUND OPEN, the APPLY burst (timed like damubala's BOOK burst; APPLYs left without
// +APPLIED are retried gently, as the contract settles -UNAVAILABLE), ROUND CLOSE and ROUND
// DRAW (timed until +DRAWN, which is sent once the draw is in Redis). The harness draws the round
// itself (KezekDraw) and checks every RESULT, the +DRAWN counts and every SEATS against it.
// Then a share of the placed confirm, a share decline, the rest let their offers expire, and
// what must hold whatever the cascade did is checked. `damubala --round` runs the same
// opening through `RoundRun`.
import ArgumentParser
import Foundation
import KezekDraw
import KezekClientSupport

struct RoundCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round",
        abstract:
            "Run the DamuBala opening as a fair round (OPEN, APPLY burst, CLOSE, DRAW, confirmations) and check the draw."
    )

    @OptionGroup var common: CommonOptions

    @Option(help: "Providers (kindergartens).")
    var providers = 1_000

    @Option(help: "Seats in all.")
    var seats = 65_739

    @Option(help: "Seats already held (booked) before the round: the draw shares the rest.")
    var held = 42_958

    @Option(help: "Applicants in the round.")
    var applicants = 55_889

    @Option(help: "Ranked choices per applicant (ROUND OPEN ... CHOICES k; 1...20).")
    var choices = RankedChoice.defaultChoices

    @Option(help: "Popularity skew over providers (Zipf exponent).")
    var skew = 1.0

    @Option(
        name: .customLong("draw-seed"),
        help:
            "The round's seed (1 to 64 of A-Z a-z 0-9 _ . : @ -); ROUND OPEN commits to its SHA-256."
    )
    var drawSeed = RoundRun.defaultDrawSeed

    @Option(name: [.customShort("c"), .long], help: "TCP connections.")
    var connections = 64

    @Option(
        name: [.customShort("P"), .long],
        help: "APPLY requests in flight per connection (0 = no bound: all at once).")
    var pipeline = 0

    @Option(
        name: .customLong("setup-pipeline"),
        help: "Requests in flight per connection during setup, checks and confirmations.")
    var setupPipeline = 256

    @Option(
        name: .customLong("confirm-fraction"),
        help: "Share of placed applicants that CONFIRM their offer.")
    var confirmFraction = 0.7

    @Option(
        name: .customLong("decline-fraction"),
        help:
            "Share of placed applicants that decline their offer (CANCEL); the rest let it expire.")
    var declineFraction = 0.1

    @Option(
        name: .customLong("max-wait"),
        help: "Longest wait for the draw's offers to expire, seconds.")
    var maxWait = 30.0

    func validate() throws {
        try CitySetup.validate(
            connections: connections, pipeline: pipeline, setupPipeline: setupPipeline,
            providers: providers, seats: seats, held: held)
        guard applicants >= 0, applicants <= 10_000_000 else {
            throw ValidationError("--applicants must be 0...10000000")
        }
        guard (1...RankedChoice.maxChoices).contains(choices), choices <= providers else {
            throw ValidationError(
                "--choices must be 1...\(RankedChoice.maxChoices) and at most --providers")
        }
        guard skew >= 0 else { throw ValidationError("--skew must not be negative") }
        try RoundRun.validate(drawSeed: drawSeed)
        guard confirmFraction >= 0, declineFraction >= 0, confirmFraction + declineFraction <= 1
        else {
            throw ValidationError(
                "--confirm-fraction and --decline-fraction must be >= 0 and add up to at most 1")
        }
        guard maxWait >= 0, maxWait <= 3600 else {
            throw ValidationError("--max-wait must be within 0...3600")
        }
    }

    func run() throws {
        let env = try common.environment(connections: connections)
        let ids = IDScheme(tag: common.effectiveTag)
        let work = try DamubalaWorkload.generate(
            providers: providers, seats: seats, held: held, applicants: applicants,
            skew: skew, seed: common.seed, ids: ids)
        let report = RunReport(command: "round", target: env.target.description)
        let roundID = RoundRun.roundID(ids)
        report.headline =
            "kezek-bench round -> \(env.target): \(Format.count(providers)) providers, "
            + "\(Format.count(seats)) seats (\(Format.count(held)) held, \(Format.count(seats - held)) free), "
            + "\(Format.count(applicants)) applicants x \(choices) choices, \(connections) connections, "
            + "round \(roundID), draw seed '\(drawSeed)'"
        report.plotTitle = "kezek-bench round: latency by percentile"
        report.settings = [
            ("providers", .int(providers)), ("seats", .int(seats)), ("held", .int(held)),
            ("applicants", .int(applicants)), ("choices", .int(choices)),
            ("connections", .int(connections)),
            ("pipeline", .int(pipeline)), ("threads", .int(common.threads)),
            ("skew", .double(skew)),
            ("draw_seed", .string(drawSeed)), ("confirm_fraction", .double(confirmFraction)),
            ("decline_fraction", .double(declineFraction)), ("max_wait", .double(maxWait)),
            ("seed", .int(Int(truncatingIfNeeded: common.seed))), ("tag", .string(ids.tag)),
            ("round", .string(roundID)),
        ]
        var series: [SVGPlot.Series] = []
        func done() throws -> Never { throw ExitCode(try common.finish(report, latency: series)) }

        // Setup: providers, then the seats held before the round.
        guard
            let heldResults = CitySetup.run(
                work: work, env: env, report: report, setupPipeline: setupPipeline)
        else { try done() }
        guard let heldBooked = RoundRun.heldSeats(work: work, results: heldResults, report: report)
        else { try done() }

        let round = RoundRun(
            env: env, report: report, work: work, heldBooked: heldBooked,
            choices: RoundRun.rankedChoices(work: work, choices: choices, seed: common.seed),
            choiceLimit: choices, drawSeed: drawSeed, pipeline: pipeline,
            setupPipeline: setupPipeline,
            check: !common.noCheck)
        guard round.opening() else {
            round.finishReport()
            series = round.latency
            try done()
        }
        round.checkDraw()
        if !common.noCheck {
            round.aftermath(
                confirmFraction: confirmFraction, declineFraction: declineFraction,
                maxWait: maxWait,
                seed: common.seed)
        }
        round.finishReport()
        series = round.latency
        try done()
    }
}

/// One fair round against the daemon, from ROUND OPEN to the checks, for `round` and
/// `damubala --round`. Providers and held seats are set up by the caller.
final class RoundRun {
    static let defaultDrawSeed = "kezek-round-model"
    /// Seconds past the offers' expiry before the settled check: the daemon expires offers
    /// on a timer tick, and RESULT rounds seconds-left up.
    static let expiryMargin = 1.5
    /// APPLYs that got no +APPLIED (-UNAVAILABLE leaves the outcome open; the contract settles
    /// it by retrying, safe since an APPLY replaces the holder's application) are sent again
    /// up to this many times, a pause apart, a few in flight per connection so that a slow
    /// daemon is not flooded again.
    static let applyRetries = 3
    static let retryPause = 1.0
    static let retryPipeline = 4
    /// ROUND DRAW answered -UNAVAILABLE is sent again (the contract: a re-sent DRAW finishes
    /// the same draw) up to this many times in all, a pause apart.
    static let drawAttempts = 5

    let env: LoadEnvironment
    let report: RunReport
    let facts: RoundFacts
    let choiceLimit: Int
    let drawSeed: String
    let pipeline: Int
    let setupPipeline: Int
    let check: Bool
    private var invariants = InvariantReport()
    private var drawCheck: RoundChecker.DrawCheck?
    private var drawnReply: String?
    /// Every APPLY answered +APPLIED: the harness knows the applications the daemon drew.
    private var appliedAll = false
    private(set) var latency: [SVGPlot.Series] = []

    var ids: IDScheme { facts.ids }
    var roundID: String { facts.roundID }
    var expected: ExpectedDraw { facts.expected }

    init(
        env: LoadEnvironment, report: RunReport, work: DamubalaWorkload, heldBooked: [Int],
        choices: [[Int]],
        choiceLimit: Int, drawSeed: String, pipeline: Int, setupPipeline: Int, check: Bool
    ) {
        self.env = env
        self.report = report
        self.choiceLimit = choiceLimit
        self.drawSeed = drawSeed
        self.pipeline = pipeline
        self.setupPipeline = setupPipeline
        self.check = check
        let free = zip(work.capacity, heldBooked).map { $0 - $1 }
        let holders = (0..<choices.count).map { work.ids.applicant($0) }
        // Drawn before the round opens, so that it costs the daemon's timings nothing.
        let expected = ExpectedDraw(
            choices: choices, holders: holders, freeSeats: free, seed: drawSeed)
        facts = RoundFacts(
            roundID: Self.roundID(work.ids), ids: work.ids, capacity: work.capacity,
            held: heldBooked,
            choices: choices, expected: expected)
    }

    static func roundID(_ ids: IDScheme) -> String {
        ids.tag.isEmpty ? "round" : "round.\(ids.tag)"
    }

    static func validate(drawSeed: String) throws {
        let allowed = Set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-".utf8)
        guard (1...64).contains(drawSeed.utf8.count), drawSeed.utf8.allSatisfy(allowed.contains)
        else {
            throw ValidationError("--draw-seed must be 1 to 64 of A-Z a-z 0-9 _ . : @ -")
        }
    }

    /// Each applicant's ranked choices: first the provider it asks for in `damubala`, then
    /// providers drawn from the same popularity, distinct. Lists are drawn at least
    /// `RankedChoice.defaultChoices` long and cut, as `round-model` draws them (its default
    /// longest list is 5), so that with `--tag ''` and equal seeds a k-choice round is
    /// round-model's k-choice row.
    static func rankedChoices(work: DamubalaWorkload, choices k: Int, seed: UInt64) -> [[Int]] {
        let drawn = min(work.providers, max(k, RankedChoice.defaultChoices))
        var rng = SplitMix64(workloadSeed: seed &+ 1)
        return work.applicantProvider.map { first in
            var list = [first]
            while list.count < drawn {
                let p = work.popularityRanking[work.popularity.sample(using: &rng)]
                if !list.contains(p) { list.append(p) }
            }
            return Array(list.prefix(k))
        }
    }

    /// Seats booked at each provider in setup; nil (and a fatal report) unless every
    /// pre-booking answered +BOOKED, since the draw's free seats must be known exactly.
    static func heldSeats(work: DamubalaWorkload, results: PhaseResults, report: RunReport)
        -> [Int]?
    {
        var held = [Int](repeating: 0, count: work.providers)
        var missing = 0
        for n in 0..<work.preProvider.count {
            if results.kinds[n] == .booked { held[work.preProvider[n]] += 1 } else { missing += 1 }
        }
        guard missing == 0 else {
            report.fatal =
                "setup: \(Format.count(missing)) of \(Format.count(work.preProvider.count)) pre-bookings did not answer +BOOKED; "
                + "the draw's free seats are unknown (a round still undrawn on this daemon answers +ROUND)"
            return nil
        }
        return held
    }

    // MARK: The opening

    /// One admin request on one connection: its reply line, and the phase.
    private func ask(_ name: String, _ tokens: [String], what: String) -> (
        reply: String, outcome: PhaseOutcome
    ) {
        let batch = RequestBatch()
        batch.add(tokens)
        let results = PhaseResults(count: 1, keepLines: true)
        var one = env
        one.connections = 1
        one.threads = 1
        let outcome = PhaseRunner.run(
            PhasePlan(name: name, batch: batch, pipeline: 1, results: results), env: one)
        var section = PhaseSection(outcome: outcome, what: what, showLatency: false)
        section.notes.append("answered \(results.line(0))")
        report.phases.append(section)
        return (results.line(0), outcome)
    }

    /// OPEN, the APPLY burst, CLOSE, DRAW. False (with `report.fatal`) when the round could not
    /// be opened or drawn. Once OPEN succeeded the round is always closed and drawn, so that
    /// the daemon is not left with a round undrawn (BOOK would answer +ROUND everywhere).
    func opening() -> Bool {
        let commitment = SHA256.hex(drawSeed)
        let open = ask(
            "open", ["ROUND", "OPEN", roundID, commitment, "CHOICES", String(choiceLimit)],
            what: "ROUND OPEN \(roundID) <sha256 of the seed> CHOICES \(choiceLimit)")
        guard open.reply == "+OK" else {
            report.fatal =
                open.outcome.connectionsOpened == 0
                ? "could not connect to \(env.target)"
                : "ROUND OPEN answered \(open.reply)"
                    + (open.reply.hasPrefix("-BUSYROUND")
                        ? " (another round is undrawn on this daemon: draw it, or use a fresh one)"
                        : "")
            return false
        }
        // While the round is undrawn the lottery is the only way in.
        let probe = ask(
            "probe", ["BOOK", ids.provider(0), ids.holder(0)],
            what: "BOOK <p0> <h> while the round is open")
        if probe.reply != "+ROUND \(roundID)" {
            invariants.fail(
                "BOOK \(ids.provider(0)) \(ids.holder(0)) while \(roundID) is open: expected +ROUND \(roundID), got \(probe.reply)"
            )
        }

        // The burst.
        let batch = RequestBatch()
        for (a, list) in facts.choices.enumerated() {
            batch.add(["APPLY", roundID, ids.applicant(a)] + list.map { ids.provider($0) })
        }
        let results = PhaseResults(count: batch.count)
        let burst = PhaseRunner.run(
            PhasePlan(name: "apply", batch: batch, pipeline: pipeline, results: results), env: env)
        // `+APPLIED <n>` is a status reply the generic classifier does not name.
        func isApplied(_ r: PhaseResults, _ i: Int, _ a: Int) -> Bool {
            r.kinds[i] == .otherStatus && r.values[i] == Int64(facts.choices[a].count)
        }
        var missing = (0..<batch.count).filter { !isApplied(results, $0, $0) }
        let k = facts.choices.first?.count ?? choiceLimit
        var section = PhaseSection(
            outcome: burst,
            what:
                "\(Format.count(batch.count)) APPLY <round> a:<n> <\(k) choice\(k == 1 ? "" : "s")>"
        )
        section.notes.append(
            "+APPLIED \(Format.count(batch.count - missing.count)) of \(Format.count(batch.count)); "
                + "burst wall time \(Format.fixed(burst.wallSeconds, 3)) s (first request sent to last reply)"
        )
        report.phases.append(section)
        report.figures.append(("apply_replies_per_second", .double(burst.throughput)))
        report.figures.append(("apply_wall_seconds", .double(burst.wallSeconds)))
        report.figures.append(("apply_latency_us", LatencySummary(burst.histogram).json))
        report.figures.append(("apply_applied_first_try", .int(batch.count - missing.count)))
        latency.append(SVGPlot.Series(name: "burst: APPLY", histogram: burst.histogram))

        var attempt = 0
        while !missing.isEmpty && attempt < Self.applyRetries {
            attempt += 1
            Thread.sleep(forTimeInterval: Self.retryPause)
            let again = RequestBatch()
            for a in missing {
                again.add(
                    ["APPLY", roundID, ids.applicant(a)] + facts.choices[a].map { ids.provider($0) }
                )
            }
            let retried = PhaseResults(count: again.count)
            let outcome = PhaseRunner.run(
                PhasePlan(
                    name: "retry", batch: again, pipeline: Self.retryPipeline, results: retried),
                env: env)
            let before = missing.count
            missing = missing.enumerated().filter { !isApplied(retried, $0.offset, $0.element) }
                .map(\.element)
            var retry = PhaseSection(
                outcome: outcome,
                what: "\(Format.count(before)) APPLY again (attempt \(attempt), "
                    + "\(Self.retryPipeline) in flight per connection)", showLatency: false)
            retry.notes.append(
                "+APPLIED \(Format.count(before - missing.count)) of \(Format.count(before))")
            report.phases.append(retry)
        }
        let applied = batch.count - missing.count
        if applied != batch.count {
            invariants.fail(
                "APPLY: \(Format.count(batch.count - applied)) of \(Format.count(batch.count)) did not answer +APPLIED <choices>; the draw cannot be checked"
            )
        }

        let close = ask("close", ["ROUND", "CLOSE", roundID], what: "ROUND CLOSE \(roundID)")
        // An APPLY never acknowledged may or may not count: only a full count is known.
        if applied == batch.count && close.reply != "+CLOSED \(applied)" {
            invariants.fail(
                "ROUND CLOSE \(roundID): expected +CLOSED \(applied) (applications acknowledged), got \(close.reply)"
            )
        }

        // The draw, timed from sending it to +DRAWN (sent once Redis has it all).
        let drawStart = ContinuousClock.now
        var draw = ask(
            "draw", ["ROUND", "DRAW", roundID, drawSeed], what: "ROUND DRAW \(roundID) \(drawSeed)")
        let firstMs = draw.outcome.wallSeconds * 1000
        var attempts = 1
        while draw.reply.hasPrefix("-UNAVAILABLE") && attempts < Self.drawAttempts {
            attempts += 1
            Thread.sleep(forTimeInterval: Self.retryPause)
            draw = ask(
                "draw", ["ROUND", "DRAW", roundID, drawSeed],
                what: "ROUND DRAW \(roundID) \(drawSeed) again (attempt \(attempts))")
        }
        let drawMs = attempts == 1 ? firstMs : Elapsed.seconds(since: drawStart) * 1000
        var drawNote = "durable after \(Format.fixed(drawMs, 1)) ms (ROUND DRAW sent to +DRAWN"
        if attempts > 1 {
            drawNote +=
                ", \(attempts) attempts: the first answered -UNAVAILABLE after \(Format.fixed(firstMs, 1)) ms"
            report.warn(
                "ROUND DRAW \(roundID) took \(attempts) attempts (the first answered -UNAVAILABLE after \(Format.fixed(firstMs, 1)) ms)"
            )
        }
        drawNote +=
            "); the harness's own draw took \(Format.fixed(expected.allocationSeconds * 1000, 1)) ms (lottery order, deferred acceptance, waitlists)"
        report.phases[report.phases.count - 1].notes.append(drawNote)
        report.figures.append(("draw_ms", .double(drawMs)))
        report.figures.append(("draw_attempts", .int(attempts)))
        report.figures.append(("draw_first_attempt_ms", .double(firstMs)))
        report.figures.append(("harness_draw_ms", .double(expected.allocationSeconds * 1000)))
        guard draw.reply.hasPrefix("+DRAWN") else {
            report.fatal =
                "ROUND DRAW answered \(draw.reply); the round is left undrawn (BOOK answers +ROUND) "
                + "until ROUND DRAW \(roundID) \(drawSeed) is sent again"
            return false
        }
        drawnReply = draw.reply
        appliedAll = applied == batch.count
        if !appliedAll { return true }

        let status = ask("status", ["ROUND", "STATUS", roundID], what: "ROUND STATUS \(roundID)")
        let wantStatus =
            "+ROUND \(roundID) state=drawn applicants=\(applied) commitment=\(commitment) seed=\(drawSeed)"
        if status.reply != wantStatus {
            invariants.fail("ROUND STATUS \(roundID): expected \(wantStatus), got \(status.reply)")
        }
        return true
    }

    // MARK: Checks

    /// Every RESULT, the +DRAWN counts and every SEATS against the harness's draw.
    func checkDraw() {
        guard check else { return }
        guard let drawnReply, appliedAll else { return }
        let result = RoundChecker.checkDraw(
            facts, drawnReply: drawnReply, env: env, pipeline: setupPipeline, into: &invariants)
        drawCheck = result
        for o in result.outcomes {
            report.phases.append(
                PhaseSection(
                    outcome: o,
                    what: o.name == "seats" ? "SEATS <p> (after the draw)" : "RESULT <round> a:<n>",
                    showLatency: false))
        }
        // An offer that expired while RESULT was asked would look like a wrong draw.
        if let left = result.secondsLeft,
            Elapsed.seconds(since: result.resultsStarted, to: result.resultsEnded)
                >= Double(left.lowerBound)
        {
            report.warn(
                "the RESULT check took longer than the offers' time left (\(left.lowerBound) s): a mismatch may be an expiry"
            )
        }
    }

    /// Confirmations and declines, then the wait for the rest of the draw's offers to expire,
    /// then the settled check. Skipped when the daemon books placements at once (offer-ttl 0).
    func aftermath(confirmFraction: Double, declineFraction: Double, maxWait: Double, seed: UInt64)
    {
        guard let drawCheck else { return }
        guard let left = drawCheck.secondsLeft else {
            let why =
                drawCheck.bookedPlacements > 0
                ? "the daemon booked every placement at once (offer-ttl 0)"
                : "no applicant was placed"
            report.phases[report.phases.count - 1].notes.append(
                "confirmations, declines and expiries skipped: \(why)")
            report.figures.append(("offer_seconds_left", .int(0)))
            return
        }
        // Offers expire offer-ttl after the draw began, so RESULT sees less than offer-ttl left.
        report.figures.append(("offer_seconds_left", .int(left.upperBound)))
        var offered: [(applicant: Int, provider: Int, rank: Int)] = []
        for (a, r) in drawCheck.results.enumerated() {
            let p = Int(expected.placedAt[a])
            if case .offered(let at, let rank, _) = r, p >= 0, at == ids.provider(p) {
                offered.append((a, p, rank))
            }
        }
        var rng = SplitMix64(workloadSeed: seed &+ 0xC0F1)
        offered.shuffle(using: &rng)
        let confirmCount = min(
            offered.count, Int((Double(offered.count) * confirmFraction).rounded()))
        let declineCount = min(
            offered.count - confirmCount, Int((Double(offered.count) * declineFraction).rounded()))
        let confirming = offered[..<confirmCount]
        let declining = offered[confirmCount..<confirmCount + declineCount]
        var after = RoundChecker.Aftermath()
        after.leftToExpire = offered[(confirmCount + declineCount)...].map {
            ($0.applicant, $0.provider)
        }

        // Every offer is live until the earliest expiry the RESULT sweep allows.
        let liveUntil = drawCheck.resultsStarted + .seconds(max(0, left.lowerBound - 1))
        let expiredBy =
            drawCheck.resultsEnded + .seconds(left.upperBound) + .seconds(Self.expiryMargin)

        // Confirmations first: nothing frees a seat before the declines, so each must succeed.
        if confirmCount > 0 {
            let batch = RequestBatch()
            for c in confirming {
                batch.add("CONFIRM", ids.provider(c.provider), ids.applicant(c.applicant))
            }
            let (results, outcome) = RoundChecker.sweep(
                "confirm", batch, env: env, pipeline: setupPipeline)
            let inTime = ContinuousClock.now < liveUntil
            var notFound = 0
            for (i, c) in confirming.enumerated() {
                let line = results.line(i)
                if line.hasPrefix("+CONFIRMED ") {
                    after.confirmed.append(c)
                } else if line.hasPrefix("+NOTFOUND") && !inTime {
                    notFound += 1
                } else {
                    invariants.fail(
                        "CONFIRM \(ids.provider(c.provider)) \(ids.applicant(c.applicant)): expected +CONFIRMED <free> (RESULT said +OFFERED, nothing freed a seat yet), got \(line)"
                    )
                }
            }
            var section = PhaseSection(
                outcome: outcome,
                what: "\(Format.count(confirmCount)) CONFIRM <p> a:<n> "
                    + "(\(Format.fixed(confirmFraction * 100, 0))% of \(Format.count(offered.count)) offers)",
                showLatency: false)
            section.notes.append(
                "+CONFIRMED \(Format.count(after.confirmed.count))"
                    + (notFound > 0
                        ? ", +NOTFOUND \(Format.count(notFound)) (sent after the offers could expire)"
                        : ""))
            report.phases.append(section)
        }
        if declineCount > 0 {
            let batch = RequestBatch()
            for d in declining {
                batch.add("CANCEL", ids.provider(d.provider), ids.applicant(d.applicant))
            }
            let (results, outcome) = RoundChecker.sweep(
                "decline", batch, env: env, pipeline: setupPipeline)
            var moved = 0
            for (i, d) in declining.enumerated() {
                let line = results.line(i)
                if line.hasPrefix("+CANCELLED ") {
                    after.declined.append((d.applicant, d.provider))
                } else if line.hasPrefix("+NOTFOUND") {
                    // A decline ahead of it may have moved it to a better choice first.
                    moved += 1
                } else {
                    invariants.fail(
                        "CANCEL \(ids.provider(d.provider)) \(ids.applicant(d.applicant)): expected +CANCELLED <free> or +NOTFOUND, got \(line)"
                    )
                }
            }
            var section = PhaseSection(
                outcome: outcome,
                what: "\(Format.count(declineCount)) CANCEL <p> a:<n> "
                    + "(\(Format.fixed(declineFraction * 100, 0))% decline their offer)",
                showLatency: false)
            section.notes.append(
                "+CANCELLED \(Format.count(after.declined.count))"
                    + (moved > 0
                        ? ", +NOTFOUND \(Format.count(moved)) (moved to a better choice by an earlier decline)"
                        : ""))
            report.phases.append(section)
        }

        // The rest expire: wait for that, within --max-wait.
        let needed = max(0, Elapsed.seconds(since: .now, to: expiredBy))
        let wait = min(needed, maxWait)
        after.expiryCovered = wait >= needed
        let start = ContinuousClock.now
        while Elapsed.seconds(since: start) < wait {
            env.progress.draw(
                phase: "expiry", done: 0, total: nil, elapsed: Elapsed.seconds(since: start),
                duration: wait)
            Thread.sleep(forTimeInterval: min(0.2, max(0, wait - Elapsed.seconds(since: start))))
        }
        env.progress.clear()
        let expiring = after.leftToExpire.count
        let waitNote =
            "waited \(Format.fixed(wait, 1)) s for \(Format.count(expiring)) unconfirmed offers to expire (\(left.upperBound) s left at RESULT)"
            + (after.expiryCovered
                ? ""
                : "; --max-wait \(Format.fixed(maxWait, 0)) s cut it short, so expiries are not checked")
        report.figures.append(("confirmed", .int(after.confirmed.count)))
        report.figures.append(("declined", .int(after.declined.count)))
        report.figures.append(("left_to_expire", .int(expiring)))

        let (outcomes, notes) = RoundChecker.checkSettled(
            facts, after, env: env, pipeline: setupPipeline, into: &invariants)
        for (i, o) in outcomes.enumerated() {
            var section = PhaseSection(
                outcome: o,
                what: o.name == "seats"
                    ? "SEATS <p> (after the aftermath)"
                    : o.name == "status"
                        ? "STATUS <p> a:<n> at every choice"
                        : "RESULT <round> a:<n> of confirmed holders",
                showLatency: false)
            if i == 0 { section.notes.append(waitNote) }
            if i == outcomes.count - 1 { section.notes += notes }
            report.phases.append(section)
        }
    }

    /// The draw's figures and the invariant report.
    func finishReport() {
        let e = expected
        let free = e.freeSeats.reduce(0, +)
        var notes = [
            "round, \(choiceLimit) choice\(choiceLimit == 1 ? "" : "s"): placed \(Format.count(e.placed)) of \(Format.count(e.applicants)) "
                + "(first choice \(Format.count(e.firstChoice)); by rank \(e.byRank.map { Format.count($0) }.joined(separator: "/"))), "
                + "unplaced \(Format.count(e.unplaced)), seats left empty \(Format.count(e.seatsEmpty)) of \(Format.count(free)) free at the draw"
        ]
        if !check {
            notes.append("(the harness's own draw; the daemon's is not checked with --no-check)")
        }
        if let i = report.phases.lastIndex(where: { $0.outcome.name == "draw" }) {
            report.phases[i].notes += notes
        }
        report.figures += [
            ("placed", .int(e.placed)), ("first_choice", .int(e.firstChoice)),
            ("by_rank", .array(e.byRank.map { .int($0) })), ("unplaced", .int(e.unplaced)),
            ("seats_free_at_draw", .int(free)), ("seats_empty", .int(e.seatsEmpty)),
        ]
        if check {
            report.invariants = invariants
        } else {
            var skipped = invariants
            skipped.skipped = invariants.passed
            report.invariants = skipped
        }
    }
}
