import ArgumentParser

// The DamuBala city before its opening, as `damubala` and `round` both set it up: every
// provider (PROVIDER), then the seats already held (BOOK pre:<n>), each a phase of the report.
enum CitySetup {
    /// The bounds both subcommands put on the city and its connections (`validate()`).
    static func validate(
        connections: Int, pipeline: Int, setupPipeline: Int, providers: Int, seats: Int, held: Int
    ) throws {
        guard connections >= 1, connections <= 10_000 else {
            throw ValidationError("--connections must be 1...10000")
        }
        guard pipeline >= 0, setupPipeline >= 1 else {
            throw ValidationError("--pipeline must be >= 0, --setup-pipeline >= 1")
        }
        guard providers >= 1, providers <= 1_000_000 else {
            throw ValidationError("--providers must be 1...1000000")
        }
        guard seats >= providers, seats <= 50_000_000 else {
            throw ValidationError("--seats must be within providers...50000000")
        }
        guard held >= 0, held <= seats else {
            throw ValidationError("--held must be within 0...seats")
        }
    }

    /// Runs both phases; returns the held bookings' results, or nil when the providers could
    /// not be set up (`report.fatal` says why).
    static func run(
        work: DamubalaWorkload, env: LoadEnvironment, report: RunReport, setupPipeline: Int
    ) -> PhaseResults? {
        let setup = PhaseRunner.run(
            PhasePlan(name: "providers", batch: work.providersBatch(), pipeline: setupPipeline),
            env: env)
        report.phases.append(
            PhaseSection(
                outcome: setup, what: "\(Format.count(work.providers)) PROVIDER <p> <capacity>",
                showLatency: false))
        if setup.connectionsOpened == 0 {
            report.fatal = "could not connect to \(env.target)"
            return nil
        }
        if setup.counts[.ok] != work.providers {
            report.fatal =
                "setup: \(Format.count(work.providers - setup.counts[.ok])) PROVIDER requests did not answer +OK"
            return nil
        }
        let heldBatch = work.heldBatch()
        let heldResults = PhaseResults(count: heldBatch.count)
        let pre = PhaseRunner.run(
            PhasePlan(
                name: "held", batch: heldBatch, pipeline: setupPipeline, results: heldResults),
            env: env)
        report.phases.append(
            PhaseSection(
                outcome: pre, what: "\(Format.count(heldBatch.count)) BOOK <p> pre:<n>",
                showLatency: false, books: true))
        return heldResults
    }
}
