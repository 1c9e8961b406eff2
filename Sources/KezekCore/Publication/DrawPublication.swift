import KezekDraw

/// A drawn round as the public may see it: its figures, and `draw.csv` (the contract's
/// "Publication"): one row per applicant, without holder ids, sorted by lottery number, so
/// that anyone can re-run the allocation and every family can find its row by computing its
/// lottery number (`printf '%s' "<seed>:<holder>" | sha256sum`).
public struct DrawPublication: Sendable {
    public let round: String
    public let state: String
    public let commitment: String
    public let seed: String?
    public let applicants: Int
    public let offered: Int
    public let waiting: Int
    public let unplaced: Int
    /// Applicants placed at each rank (index 0 = first choice), as the draw placed them.
    public let placedByRank: [Int]
    /// Per district: applicants who ranked one of its providers first, and its seats free at the draw.
    public let firstChoiceByDistrict: [(district: String, applicants: Int, freeSeats: Int)]
    /// The CSV; nil until the round is drawn.
    public let csv: String?

    public static let header = "lottery,choices,outcome,provider,rank"

    /// Nil when there is no such round. Computing a drawn round re-runs its allocation from the
    /// stored record (deterministic): callers cache the result.
    public static func make(_ id: String, source: PublicSource) -> DrawPublication? {
        guard let round = source.rounds.round(id) else { return nil }
        var firstByDistrict: [String: (Int, Int)] = [:]
        for choices in round.applications.values {
            guard let first = choices.first else { continue }
            firstByDistrict[CityFigures.district(of: first.provider), default: (0, 0)].0 += 1
        }
        var placedByRank = [Int](repeating: 0, count: round.choiceLimit)
        var csv: String?
        if round.phase == .drawn, let record = round.record {
            for (provider, free) in record.freeSeats {
                firstByDistrict[CityFigures.district(of: provider), default: (0, 0)].1 += free
            }
            let computed = DrawRun.compute(record: record, applications: round.applications)
            var placement: [String: (provider: String, rank: Int)] = [:]
            for (provider, share) in computed.shares {
                for (holder, rank) in share.placements {
                    placement[holder] = (provider, rank)
                    if rank <= placedByRank.count { placedByRank[rank - 1] += 1 }
                }
            }
            let outcome = source.table.rules.offerMillis > 0 ? "offered" : "booked"
            let hasher = SHA256()
            var rows: [(String, String)] = []
            rows.reserveCapacity(round.applications.count)
            for (holder, choices) in round.applications {
                let lottery = LotteryNumber(seed: record.seed, holder: holder, using: hasher).hex
                let placed = placement[holder]
                let row =
                    "\(lottery),\(Round.encode(choices)),\(placed == nil ? "unplaced" : outcome),\(placed?.provider ?? ""),\(placed.map { String($0.rank) } ?? "")"
                rows.append((lottery, row))
            }
            rows.sort { $0.0 < $1.0 }
            var text = header + "\n"
            for row in rows { text += row.1 + "\n" }
            csv = text
        }
        let outcome = round.phase == .drawn ? round.outcome : nil
        return DrawPublication(
            round: id, state: round.publicPhase, commitment: round.commitment,
            seed: round.phase == .drawn ? round.record?.seed : nil,
            applicants: round.applications.count,
            offered: outcome?.offered ?? 0, waiting: outcome?.waiting ?? 0,
            unplaced: outcome?.unplaced ?? 0,
            placedByRank: placedByRank,
            firstChoiceByDistrict: firstByDistrict.sorted { $0.key < $1.key }.map {
                ($0.key, $0.value.0, $0.value.1)
            },
            csv: csv)
    }
}
