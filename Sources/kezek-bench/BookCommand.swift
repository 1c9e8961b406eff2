// `kezek-bench book`: generic BOOK load against fresh providers, closed loop (P in flight per
// connection) or open loop (`--rate`, latency from the scheduled send time), bounded by
// `--requests` and/or `--duration`, then the invariant check.
import ArgumentParser

struct BookCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "book",
        abstract: "Generic BOOK load: closed loop, or open loop with --rate.")

    @OptionGroup var common: CommonOptions

    @Option(help: "Providers to create.")
    var providers = 100

    @Option(help: "Distinct holders to draw from (uniformly).")
    var holders = 100_000

    @Option(help: "Seats per provider.")
    var capacity = 1_000

    @Option(name: [.customShort("c"), .long], help: "TCP connections.")
    var connections = 50

    @Option(
        name: [.customShort("P"), .long], help: "Requests in flight per connection (0 = no bound).")
    var pipeline = 16

    @Option(help: "Open loop: requests per second over all connections.")
    var rate: Double?

    @Option(help: "Stop sending after this many seconds.")
    var duration: Double?

    @Option(
        name: [.customShort("n"), .long],
        help: "Stop after this many requests (default 100,000 unless --duration).")
    var requests: Int?

    @Option(help: "Popularity skew over providers (Zipf exponent; 0 = uniform).")
    var skew = 0.0

    @Flag(help: "Send BOOK <p> <h> WAIT.")
    var wait = false

    @Flag(
        help:
            "Redis Cluster: book only providers the target kezekd serves. PROVIDER is sent for 4x --providers candidate names; those it answers -MOVED for are left out. Run one per node (at once) to load the whole cluster."
    )
    var shardOnly = false

    @Option(help: .hidden)
    var command: String?

    /// The baseline of scripts/latency-floor.sh: the same load booked by the Lua script in a
    /// Redis target (scripts/lua/book.lua, loaded; its SHA1), no invariant check.
    @Option(help: .hidden)
    var luaSha: String?

    func validate() throws {
        guard providers >= 1, holders >= 1 else {
            throw ValidationError("--providers and --holders must be positive")
        }
        guard capacity >= 0 else { throw ValidationError("--capacity must not be negative") }
        guard connections >= 1, connections <= 10_000 else {
            throw ValidationError("--connections must be 1...10000")
        }
        guard pipeline >= 0 else { throw ValidationError("--pipeline must not be negative") }
        if let rate {
            guard rate > 0, rate <= 10_000_000 else {
                throw ValidationError("--rate must be within (0, 10000000]")
            }
        }
        if let duration {
            guard duration > 0, duration <= 3600 else {
                throw ValidationError("--duration must be within (0, 3600]")
            }
        }
        if let requests {
            guard requests >= 1, requests <= 1_000_000_000 else {
                throw ValidationError("--requests must be 1...1e9")
            }
        }
        guard skew >= 0 else { throw ValidationError("--skew must not be negative") }
        if luaSha != nil {
            guard !wait, !shardOnly, command == nil else {
                throw ValidationError(
                    "--lua-sha books plainly: no --wait, --shard-only or --command")
            }
        }
    }

    func run() throws {
        let env = try common.environment(connections: connections)
        var ids = IDScheme(tag: common.effectiveTag)
        let total = requests ?? (duration == nil ? 100_000 : Int.max)
        var poolSize = min(total, 1 << 20)
        if total == Int.max, let rate, let duration {
            poolSize = max(1, min(poolSize, Int(rate * duration) + 1))
        }
        let setupPipeline = 256

        let report = RunReport(command: "book", target: env.target.description)
        let mode = rate.map { "open loop at \(Format.count(Int($0))) req/s" } ?? "closed loop"
        report.headline =
            "kezek-bench book -> \(env.target): \(providers) providers x \(capacity) seats, "
            + "\(Format.count(holders)) holders, \(connections) connections x pipeline \(pipeline), \(mode), "
            + "\(common.threads) thread\(common.threads == 1 ? "" : "s")"
        report.plotTitle = "kezek-bench book: BOOK latency by percentile"
        report.settings = [
            ("providers", .int(providers)), ("holders", .int(holders)),
            ("capacity", .int(capacity)),
            ("connections", .int(connections)), ("pipeline", .int(pipeline)),
            ("threads", .int(common.threads)),
            ("rate", rate.map { .double($0) } ?? .null),
            ("duration", duration.map { .double($0) } ?? .null),
            ("requests", requests.map { .int($0) } ?? .null),
            ("seed", .int(Int(truncatingIfNeeded: common.seed))),
            ("tag", .string(ids.tag)),
        ]

        // Raw-command mode (hidden, for plumbing tests against any RESP server): no setup, no check.
        if let command {
            let batch = RequestBatch()
            let tokens = command.split(whereSeparator: { $0 == " " }).map(String.init)
            for _ in 0..<min(poolSize, 1024) { batch.add(tokens) }
            let load = PhaseRunner.run(
                PhasePlan(
                    name: "load", batch: batch, total: total, pipeline: pipeline,
                    rate: rate, duration: duration), env: env)
            report.phases.append(PhaseSection(outcome: load, what: "\(command)"))
            if load.connectionsOpened == 0 {
                report.fatal = "could not connect to \(env.target)"
            } else if load.stats.replies == 0 {
                report.fatal = "no replies from \(env.target)"
            }
            throw ExitCode(
                try common.finish(
                    report, latency: [SVGPlot.Series(name: command, histogram: load.histogram)]))
        }

        if shardOnly {
            // The target creates the candidates of its shard (+OK) and sends the rest on (-MOVED).
            let candidates = RequestBatch()
            for index in 0..<(4 * providers) {
                candidates.add("PROVIDER", ids.provider(index), String(capacity))
            }
            let answers = PhaseResults(count: candidates.count)
            let probe = PhaseRunner.run(
                PhasePlan(
                    name: "shard", batch: candidates, pipeline: setupPipeline, results: answers),
                env: env)
            let served = (0..<candidates.count).filter { answers.kinds[$0] == .ok }.prefix(
                providers
            ).map { ids.provider($0) }
            report.phases.append(
                PhaseSection(
                    outcome: probe,
                    what: "\(Format.count(candidates.count)) PROVIDER <candidate> \(capacity): "
                        + "\(Format.count(served.count)) served here", showLatency: false))
            guard served.count == providers else {
                report.fatal =
                    probe.connectionsOpened == 0
                    ? "could not connect to \(env.target)"
                    : "--shard-only: the target serves \(served.count) of \(candidates.count) candidate providers, fewer than --providers \(providers)"
                throw ExitCode(try common.finish(report, latency: []))
            }
            ids.providerNames = Array(served)
        }
        let work = BookWorkload.generate(
            providers: providers, holders: holders, capacity: capacity,
            poolSize: poolSize, skew: skew, seed: common.seed, ids: ids)
        let setup = PhaseRunner.run(
            PhasePlan(
                name: "setup",
                batch: luaSha == nil ? work.providersBatch() : work.luaProvidersBatch(),
                pipeline: setupPipeline), env: env)
        report.phases.append(
            PhaseSection(
                outcome: setup,
                what:
                    "\(Format.count(providers)) \(luaSha == nil ? "PROVIDER <p>" : "SET lua:free:<p>") \(capacity)",
                showLatency: false))
        if setup.connectionsOpened == 0 {
            report.fatal = "could not connect to \(env.target)"
            throw ExitCode(try common.finish(report, latency: []))
        }
        if setup.counts[.ok] != providers {
            report.fatal =
                "setup: \(Format.count(providers - setup.counts[.ok])) PROVIDER requests did not answer +OK"
            throw ExitCode(try common.finish(report, latency: []))
        }

        let batch = luaSha.map { work.luaBookBatch(sha: $0) } ?? work.bookBatch(wait: wait)
        let results = PhaseResults(count: batch.count)
        let load = PhaseRunner.run(
            PhasePlan(
                name: "load", batch: batch, total: total, pipeline: pipeline, rate: rate,
                duration: duration, results: results), env: env)
        var section = PhaseSection(
            outcome: load,
            what: luaSha == nil
                ? "BOOK <p> h:<n>\(wait ? " WAIT" : "")" : "EVALSHA <book.lua> <p> h:<n>",
            books: true)
        section.notes.append(
            "throughput \(Format.count(Int(load.throughput))) requests/s, "
                + "\(Format.count(Int(load.bookingsPerSecond))) bookings/s (+BOOKED replies)")
        report.phases.append(section)
        report.figures = [
            ("throughput_rps", .double(load.throughput)),
            ("bookings_per_second", .double(load.bookingsPerSecond)),
        ]

        if common.noCheck || luaSha != nil {
            var inv = InvariantReport()
            inv.skipped = true
            report.invariants = inv
        } else {
            // The last reply for each distinct (provider, holder) pair.
            var pairs: [Int: (kind: ObservedReply, value: Int64)] = [:]
            for i in 0..<batch.count where results.kinds[i] != .none {
                let key = Int(work.poolProvider[i]) * holders + Int(work.poolHolder[i])
                let r = results[i]
                if let old = pairs[key], old.kind == .booked, r.kind != .booked { continue }
                pairs[key] = (r.kind, r.value)
            }
            let allDefinite =
                load.complete
                && ObservedReply.allCases.allSatisfy {
                    $0.isDefinite || $0 == .none || load.counts[$0] == 0
                }
            var expect = (0..<providers).map {
                ProviderExpectation(
                    id: ids.provider($0), capacity: capacity, bookedAtLeast: 0,
                    bookedExactly: allDefinite ? 0 : nil, waitingExactly: allDefinite ? 0 : nil)
            }
            var holderChecks: [HolderExpectation] = []
            for (key, r) in pairs.sorted(by: { $0.key < $1.key }) {
                let p = key / holders, h = key % holders
                switch r.kind {
                case .booked:
                    expect[p].bookedAtLeast += 1
                    if allDefinite { expect[p].bookedExactly! += 1 }
                    holderChecks.append(
                        HolderExpectation(
                            provider: ids.provider(p), holder: ids.holder(h),
                            expected: .booked, why: "got +BOOKED"))
                case .waiting:
                    if allDefinite { expect[p].waitingExactly! += 1 }
                    holderChecks.append(
                        HolderExpectation(
                            provider: ids.provider(p), holder: ids.holder(h),
                            expected: .waiting(Int(r.value)), why: "got +WAITING \(r.value)"))
                default:
                    break
                }
            }
            let (inv, checks) = InvariantChecker.check(
                providers: expect, holders: holderChecks, env: env,
                pipeline: setupPipeline)
            report.invariants = inv
            for c in checks {
                report.phases.append(
                    PhaseSection(
                        outcome: c, what: c.name == "seats" ? "SEATS <p>" : "STATUS <p> <h>",
                        showLatency: false))
            }
        }
        throw ExitCode(
            try common.finish(
                report, latency: [SVGPlot.Series(name: "BOOK", histogram: load.histogram)]))
    }
}
