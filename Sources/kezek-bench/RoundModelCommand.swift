// `kezek-bench round-model`: what a fair round would do with the DamuBala opening, computed
// here without a daemon. The same providers, capacities, held seats and popularity as
// `damubala`; each applicant's first choice is the provider it asks for there, and further
// choices come from the same popularity, distinct. For each number of ranked choices the
// draw (lottery order from --draw-seed, deferred acceptance over the free seats, no priority
// levels) tells how many children get a seat, how many their first choice, and how many
// seats stay empty.
import ArgumentParser
import Foundation
import KezekDraw
import KezekClientSupport

struct RoundModelCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "round-model",
        abstract: "Model a lottery round with ranked choices on the DamuBala workload (no daemon).")

    @Option(help: "Providers (kindergartens).")
    var providers = 1_000

    @Option(help: "Seats in all.")
    var seats = 65_739

    @Option(help: "Seats already held before the round.")
    var held = 42_958

    @Option(help: "Applicants in the round.")
    var applicants = 55_889

    @Option(help: "Popularity skew over providers (Zipf exponent).")
    var skew = 1.0

    @Option(help: "Seed for the workload generator (the same as damubala's --seed).")
    var seed: UInt64 = 1

    @Option(
        name: .customLong("draw-seed"),
        help: "The round's seed: lottery numbers are SHA-256 of '<seed>:<holder>'.")
    var drawSeed = "kezek-round-model"

    @Option(help: "Numbers of ranked choices to compare, comma-separated (each 1...20).")
    var choices = "1,2,3,5"

    private var choiceCounts: [Int] { choices.split(separator: ",").compactMap { Int($0) } }

    func validate() throws {
        let counts = choiceCounts
        guard !counts.isEmpty, counts.count == choices.split(separator: ",").count,
            counts.allSatisfy({ (1...RankedChoice.maxChoices).contains($0) })
        else {
            throw ValidationError("--choices must be a comma-separated list of numbers 1...20")
        }
        guard providers >= 1, providers <= 1_000_000, counts.max()! <= providers else {
            throw ValidationError(
                "--providers must be 1...1000000 and at least the largest --choices")
        }
        guard seats >= providers, held >= 0, held <= seats, applicants >= 0,
            applicants <= 10_000_000
        else {
            throw ValidationError(
                "need providers <= seats, 0 <= held <= seats, 0 <= applicants <= 10000000")
        }
        guard skew >= 0 else { throw ValidationError("--skew must not be negative") }
        guard !drawSeed.isEmpty else { throw ValidationError("--draw-seed must not be empty") }
    }

    func run() throws {
        let ids = IDScheme(tag: "")
        let work = try DamubalaWorkload.generate(
            providers: providers, seats: seats, held: held, applicants: applicants,
            skew: skew, seed: seed, ids: ids)
        let free = zip(work.capacity, work.held).map { $0 - $1 }
        let most = choiceCounts.max()!
        // Each applicant's longest choice list; shorter runs take its prefix.
        var rng = SplitMix64(workloadSeed: seed &+ 1)
        let ranked: [[Int]] = work.applicantProvider.map { first in
            var list = [first]
            while list.count < most {
                let p = work.popularityRanking[work.popularity.sample(using: &rng)]
                if !list.contains(p) { list.append(p) }
            }
            return list
        }
        var clock = ContinuousClock.now
        let order = LotteryOrder.order(
            seed: drawSeed, holders: (0..<applicants).map { ids.applicant($0) })
        let lotterySeconds = seconds(since: clock)

        print(
            "kezek-bench round-model: \(Format.count(providers)) providers, \(Format.count(free.reduce(0, +))) free seats "
                + "(\(Format.count(seats)) less \(Format.count(held)) held), \(Format.count(applicants)) applicants, "
                + "skew \(skew), seed \(seed), draw seed '\(drawSeed)'")
        print(
            "lottery order (SHA-256 per applicant, sort): \(Format.fixed(lotterySeconds * 1000, 1)) ms"
        )
        print(
            "choices  placed  first-choice  by rank                          unplaced  seats empty  allocation"
        )
        var baseline: Int?
        for k in choiceCounts {
            var book = ApplicationBook()
            book.reserve(applicants: applicants, choices: applicants * k)
            for list in ranked { book.append(list.prefix(k).map { (provider: $0, level: 0) }) }
            clock = ContinuousClock.now
            let allocation = DeferredAcceptance.allocate(
                freeSeats: free, applications: book, lotteryOrder: order)
            let allocSeconds = seconds(since: clock)
            var byRank = [Int](repeating: 0, count: k)
            for a in 0..<applicants { if let r = allocation.rank(of: a) { byRank[r - 1] += 1 } }
            let placed = allocation.placedCount
            baseline = baseline ?? (k == 1 ? placed : nil)
            let more =
                baseline.map { k == 1 ? "" : "  (+\(Format.count(placed - $0)) vs 1 choice)" } ?? ""
            let columns = [
                pad("\(k)", 7), pad(Format.count(placed), 7), pad(Format.count(byRank[0]), 13),
                pad(byRank.map { Format.count($0) }.joined(separator: "/"), 32),
                pad(Format.count(applicants - placed), 9),
                pad(Format.count(free.reduce(0, +) - placed), 12),
                pad(Format.fixed(allocSeconds * 1000, 1) + " ms", 10),
            ]
            print(columns.joined(separator: "  ") + more)
        }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) * 1e-18
    }

    private func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
