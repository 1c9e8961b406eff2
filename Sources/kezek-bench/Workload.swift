// Workload generators: who books where. Everything is drawn from a seeded generator, so a
// seed reproduces a run. Ids get a per-run tag (".r1a2b") so repeated runs against the same
// daemon do not collide with each other's state; `--tag ''` gives the bare ids.
import KezekClientSupport

/// Ids for providers and holders.
struct IDScheme {
    let tag: String
    /// Provider ids chosen elsewhere (`book --shard-only`: those the target serves); nil: `p<i>`.
    var providerNames: [String]?

    init(tag: String, providerNames: [String]? = nil) {
        self.tag = tag
        self.providerNames = providerNames
    }

    private var suffix: String { tag.isEmpty ? "" : "." + tag }
    func provider(_ i: Int) -> String { providerNames?[i] ?? "p\(i)" + suffix }
    func preHolder(_ n: Int) -> String { "pre:\(n)" + suffix }
    func applicant(_ n: Int) -> String { "a:\(n)" + suffix }
    func holder(_ n: Int) -> String { "h:\(n)" + suffix }
}

/// Almaty's 2023 voucher opening: providers with fixed capacities, most seats already held,
/// and a crowd of applicants each after one provider drawn from a skewed popularity.
struct DamubalaWorkload {
    let ids: IDScheme
    let capacity: [Int]
    let held: [Int]
    /// Provider of each pre-booked seat ("pre:<n>" holds one seat at preProvider[n]).
    let preProvider: [Int]
    /// Provider each applicant ("a:<n>") asks for.
    let applicantProvider: [Int]
    /// Providers from most to least popular, and the popularity (Zipf) over that ranking:
    /// for drawing further choices from the same model (`round-model`).
    let popularityRanking: [Int]
    let popularity: ZipfSampler

    var providers: Int { capacity.count }

    struct Invalid: Error, CustomStringConvertible { let description: String }

    static func generate(
        providers: Int, seats: Int, held totalHeld: Int, applicants: Int,
        skew: Double, seed: UInt64, ids: IDScheme
    ) throws -> DamubalaWorkload {
        guard providers > 0 else { throw Invalid(description: "--providers must be positive") }
        guard seats >= providers else {
            throw Invalid(description: "--seats must be at least --providers")
        }
        guard totalHeld >= 0, totalHeld <= seats else {
            throw Invalid(description: "--held must be within 0...seats")
        }
        guard applicants >= 0 else {
            throw Invalid(description: "--applicants must not be negative")
        }
        var rng = SplitMix64(workloadSeed: seed)

        // Capacities: uneven sizes (weights 0.4...1.6), summing exactly to `seats`.
        let weights = (0..<providers).map { _ in 0.4 + 1.2 * rng.unit() }
        let wsum = weights.reduce(0, +)
        var capacity = weights.map { max(1, Int(Double(seats) * $0 / wsum)) }
        var diff = seats - capacity.reduce(0, +)
        while diff != 0 {
            let i = Int.random(in: 0..<providers, using: &rng)
            if diff > 0 {
                capacity[i] += 1; diff -= 1
            } else if capacity[i] > 1 {
                capacity[i] -= 1; diff += 1
            }
        }

        // Held seats: each provider around the overall ratio (+-20 points), summing exactly.
        let ratio = Double(totalHeld) / Double(seats)
        var held = capacity.map { c -> Int in
            let r = min(1, max(0, ratio + (rng.unit() - 0.5) * 0.4))
            return min(c, Int((Double(c) * r).rounded()))
        }
        diff = totalHeld - held.reduce(0, +)
        while diff != 0 {
            let i = Int.random(in: 0..<providers, using: &rng)
            if diff > 0, held[i] < capacity[i] {
                held[i] += 1; diff -= 1
            } else if diff < 0, held[i] > 0 {
                held[i] -= 1; diff += 1
            }
        }
        var preProvider: [Int] = []
        preProvider.reserveCapacity(totalHeld)
        for (p, h) in held.enumerated() {
            preProvider.append(contentsOf: repeatElement(p, count: h))
        }
        preProvider.shuffle(using: &rng)

        // Popularity: Zipf over a random ranking of providers.
        let ranking = Array(0..<providers).shuffled(using: &rng)
        let zipf = ZipfSampler(count: providers, exponent: skew)
        let applicantProvider = (0..<applicants).map { _ in ranking[zipf.sample(using: &rng)] }

        return DamubalaWorkload(
            ids: ids, capacity: capacity, held: held, preProvider: preProvider,
            applicantProvider: applicantProvider, popularityRanking: ranking, popularity: zipf)
    }

    func providersBatch() -> RequestBatch {
        let b = RequestBatch()
        for p in 0..<providers { b.add("PROVIDER", ids.provider(p), String(capacity[p])) }
        return b
    }

    func heldBatch() -> RequestBatch {
        let b = RequestBatch()
        for (n, p) in preProvider.enumerated() { b.add("BOOK", ids.provider(p), ids.preHolder(n)) }
        return b
    }

    func burstBatch() -> RequestBatch {
        let b = RequestBatch()
        for (n, p) in applicantProvider.enumerated() {
            b.add("BOOK", ids.provider(p), ids.applicant(n), "WAIT")
        }
        return b
    }
}

/// Generic BOOK load: `providers` providers of `capacity` seats, holders drawn uniformly from
/// `holders`, providers from a Zipf popularity of exponent `skew` (0 = uniform). The pool of
/// distinct requests is cycled through when a run sends more than the pool holds.
struct BookWorkload {
    let ids: IDScheme
    let providers: Int
    let capacity: Int
    let poolProvider: [Int32]
    let poolHolder: [Int32]

    static func generate(
        providers: Int, holders: Int, capacity: Int, poolSize: Int, skew: Double,
        seed: UInt64, ids: IDScheme
    ) -> BookWorkload {
        var rng = SplitMix64(workloadSeed: seed)
        let ranking = Array(0..<providers).shuffled(using: &rng)
        let zipf = ZipfSampler(count: providers, exponent: skew)
        var pp = [Int32](), ph = [Int32]()
        pp.reserveCapacity(poolSize)
        ph.reserveCapacity(poolSize)
        for _ in 0..<poolSize {
            pp.append(Int32(ranking[zipf.sample(using: &rng)]))
            ph.append(Int32(Int.random(in: 0..<holders, using: &rng)))
        }
        return BookWorkload(
            ids: ids, providers: providers, capacity: capacity, poolProvider: pp, poolHolder: ph)
    }

    func providersBatch() -> RequestBatch {
        let b = RequestBatch()
        for p in 0..<providers { b.add("PROVIDER", ids.provider(p), String(capacity)) }
        return b
    }

    func bookBatch(wait: Bool) -> RequestBatch {
        let b = RequestBatch()
        for i in poolProvider.indices {
            var t = ["BOOK", ids.provider(Int(poolProvider[i])), ids.holder(Int(poolHolder[i]))]
            if wait { t.append("WAIT") }
            b.add(t)
        }
        return b
    }

    /// The same load for the Lua script in Redis (scripts/lua/book.lua, loaded as `sha`): each
    /// provider a free-seat counter and a set of holders.
    func luaProvidersBatch() -> RequestBatch {
        let b = RequestBatch()
        for p in 0..<providers { b.add("SET", Self.luaFree(ids.provider(p)), String(capacity)) }
        return b
    }

    func luaBookBatch(sha: String) -> RequestBatch {
        let b = RequestBatch()
        for i in poolProvider.indices {
            let provider = ids.provider(Int(poolProvider[i]))
            b.add(
                "EVALSHA", sha, "2", Self.luaFree(provider), "lua:holders:\(provider)",
                ids.holder(Int(poolHolder[i])))
        }
        return b
    }

    private static func luaFree(_ provider: String) -> String { "lua:free:\(provider)" }
}
