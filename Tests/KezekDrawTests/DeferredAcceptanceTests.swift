import XCTest
@testable import KezekDraw
import KezekTestSupport

/// Hand-worked cases of the contract's allocation, then random instances checked against a
/// plain round-by-round Gale-Shapley written here, for stability, and (without levels)
/// against random serial dictatorship.
final class DeferredAcceptanceTests: XCTestCase {
    /// Applicants are given in lottery order (index = lottery rank); providers by index.
    private func run(
        _ seats: [Int], _ applicants: [[(provider: Int, level: Int)]],
        excluded: Set<Int> = []
    ) -> Allocation {
        var book = ApplicationBook()
        for choices in applicants { book.append(choices) }
        let order = (0..<Int32(applicants.count)).filter { !excluded.contains(Int($0)) }
        return DeferredAcceptance.allocate(
            freeSeats: seats, applications: book, lotteryOrder: order)
    }

    private func placements(_ allocation: Allocation) -> [Int?] {
        (0..<allocation.book.count).map { allocation.provider(of: $0) }
    }

    func testNoLevelsIsSerialDictatorship() {
        // X=0, Y=1. A, B, C in lottery order.
        let a = run([1, 1], [[(0, 0), (1, 0)], [(0, 0), (1, 0)], [(0, 0)]])
        XCTAssertEqual(placements(a), [0, 1, nil])
        XCTAssertEqual(a.rank(of: 1), 2)
        XCTAssertEqual(a.displaced, 0)
        // B (placed at its 2nd choice) and C (unplaced) wait at X, in lottery order.
        XCTAssertEqual(a.waitlists(providers: 2), [[1, 2], []])
    }

    func testLevelBeatsLotteryWhereSerialDictatorshipWouldNot() {
        // A has the better lottery number, B a level-1 claim at X. Serial dictatorship in
        // lottery order would give A X and leave B out; deferred acceptance gives B X, A Y.
        let a = run([1, 1], [[(0, 0), (1, 0)], [(0, 1)]])
        XCTAssertEqual(placements(a), [1, 0])
        XCTAssertEqual(a.waitlists(providers: 2), [[0], []])
    }

    func testDisplacementChains() {
        // X, Y, Z one seat each. A: X, Y, Z. B: Y, Z. C: X/1.
        // A takes X, B takes Y; C displaces A at X; A displaces B at Y; B goes to Z.
        let a = run([1, 1, 1], [[(0, 0), (1, 0), (2, 0)], [(1, 0), (2, 0)], [(0, 1)]])
        XCTAssertEqual(placements(a), [1, 2, 0])
        XCTAssertEqual(a.displaced, 2)
        XCTAssertEqual([a.rank(of: 0), a.rank(of: 1), a.rank(of: 2)], [2, 2, 1])
        XCTAssertEqual(a.waitlists(providers: 3), [[0], [1], []])
    }

    func testHigherLevelsFirstThenLottery() {
        // X has 2 seats; A, B, C, D in lottery order; B and D claim level 1.
        let a = run([2], [[(0, 0)], [(0, 1)], [(0, 0)], [(0, 1)]])
        XCTAssertEqual(placements(a), [nil, 0, nil, 0])
        XCTAssertEqual(a.waitlists(providers: 1), [[0, 2]])
        // Among the waiting, a higher level is ahead of a better lottery number.
        let b = run([0], [[(0, 0)], [(0, 3)], [(0, 1)]])
        XCTAssertEqual(b.waitlists(providers: 1), [[1, 2, 0]])
    }

    func testNoSeatsAndExcludedApplicants() {
        // X has no free seat; B is left out of the lottery (a holder at the per-holder limit).
        let a = run([0, 2], [[(0, 0), (1, 0)], [(1, 0)]], excluded: [1])
        XCTAssertEqual(placements(a), [1, nil])
        XCTAssertEqual(a.lotteryRank, [0, -1])
        XCTAssertEqual(a.waitlists(providers: 2), [[0], []])
        XCTAssertEqual(a.placedCount, 1)
    }

    func testEmptyRound() {
        let a = run([3, 1], [])
        XCTAssertEqual(a.placedCount, 0)
        XCTAssertEqual(a.waitlists(providers: 2), [[], []])
    }

    func testRandomInstancesMatchRoundByRoundGaleShapley() {
        var rng = SplitMix64(seed: 7)
        for trial in 0..<2_000 {
            let providers = 1 + Int(rng.next() % 6)
            let seats = (0..<providers).map { _ in Int(rng.next() % 4) }
            let count = 1 + Int(rng.next() % 16)
            let useLevels = trial % 2 == 0
            let applicants: [[(provider: Int, level: Int)]] = (0..<count).map { _ in
                var pool = Array(0..<providers)
                pool.shuffle(using: &rng)
                let k = 1 + Int(rng.next() % UInt64(min(4, providers)))
                return pool.prefix(k).map {
                    ($0, useLevels && rng.next() % 3 == 0 ? 1 + Int(rng.next() % 3) : 0)
                }
            }
            let got = placements(run(seats, applicants))
            let expected = Self.roundByRound(seats: seats, applicants: applicants)
            XCTAssertEqual(got, expected, "trial \(trial)")
            XCTAssertTrue(
                Self.isStable(got, seats: seats, applicants: applicants), "trial \(trial)")
            if !useLevels {
                XCTAssertEqual(
                    got, Self.serialDictatorship(seats: seats, applicants: applicants),
                    "trial \(trial)")
            }
        }
    }

    // MARK: - Reference implementations (applicant index = lottery rank)

    private static func better(
        _ a: Int, _ b: Int, at p: Int, _ applicants: [[(provider: Int, level: Int)]]
    ) -> Bool {
        let la = applicants[a].first { $0.provider == p }!.level
        let lb = applicants[b].first { $0.provider == p }!.level
        return la != lb ? la > lb : a < b
    }

    /// Textbook Gale-Shapley in rounds: all free applicants propose at once.
    static func roundByRound(seats: [Int], applicants: [[(provider: Int, level: Int)]]) -> [Int?] {
        var next = [Int](repeating: 0, count: applicants.count)
        var kept = [[Int]](repeating: [], count: seats.count)
        var placed = [Int?](repeating: nil, count: applicants.count)
        while true {
            var proposals = [[Int]](repeating: [], count: seats.count)
            for a in applicants.indices where placed[a] == nil && next[a] < applicants[a].count {
                proposals[applicants[a][next[a]].provider].append(a)
                next[a] += 1
            }
            if proposals.allSatisfy(\.isEmpty) { return placed }
            for p in seats.indices where !proposals[p].isEmpty {
                let all = (kept[p] + proposals[p]).sorted { better($0, $1, at: p, applicants) }
                kept[p] = Array(all.prefix(seats[p]))
                for a in all { placed[a] = kept[p].contains(a) ? p : nil }
            }
        }
    }

    static func serialDictatorship(seats: [Int], applicants: [[(provider: Int, level: Int)]])
        -> [Int?]
    {
        var left = seats
        return applicants.map { choices in
            guard let c = choices.first(where: { left[$0.provider] > 0 }) else { return nil }
            left[c.provider] -= 1
            return c.provider
        }
    }

    /// No applicant prefers a provider that has a free seat or admits someone it ranks lower.
    static func isStable(
        _ placed: [Int?], seats: [Int], applicants: [[(provider: Int, level: Int)]]
    ) -> Bool {
        var admitted = [[Int]](repeating: [], count: seats.count)
        for (a, p) in placed.enumerated() { if let p { admitted[p].append(a) } }
        guard seats.indices.allSatisfy({ admitted[$0].count <= seats[$0] }) else { return false }
        for (a, choices) in applicants.enumerated() {
            for choice in choices {
                if choice.provider == placed[a] { break }
                let p = choice.provider
                if admitted[p].count < seats[p] { return false }
                if admitted[p].contains(where: { better(a, $0, at: p, applicants) }) {
                    return false
                }
            }
        }
        return true
    }
}
