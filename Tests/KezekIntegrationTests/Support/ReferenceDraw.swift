import KezekDraw
import KezekTestSupport

/// The draw re-computed from the contract alone, the plain textbook way, to check kezekd's
/// RESULT replies against: lottery numbers as 64 hex digits (compared as text, which is their
/// numeric order), then round-by-round Gale-Shapley (every free applicant proposes to its
/// next choice, every provider keeps its best up to its seats). Only SHA-256 is shared with
/// the daemon.
struct ReferenceDraw {
    struct Choice {
        var provider: String
        var level: Int
    }

    struct Placement: Equatable {
        var provider: String
        var rank: Int
    }

    let placements: [String: Placement]
    /// Per provider, the applicants waiting there in its order.
    let waitlists: [String: [String]]
    let lottery: [String: String]

    init(seed: String, applications: [String: [Choice]], freeSeats: [String: Int]) {
        var lottery: [String: String] = [:]
        for holder in applications.keys { lottery[holder] = SHA256.hex("\(seed):\(holder)") }
        self.init(lottery: lottery, applications: applications, freeSeats: freeSeats)
    }

    /// With the lottery numbers given (a published draw.csv has no holder ids: its rows are
    /// keyed by lottery number).
    init(lottery: [String: String], applications: [String: [Choice]], freeSeats: [String: Int]) {
        self.lottery = lottery
        func key(_ holder: String, at provider: String) -> (Int, String) {
            let level = applications[holder]!.first { $0.provider == provider }!.level
            return (-level, lottery[holder]!)
        }
        func better(_ a: String, _ b: String, at provider: String) -> Bool {
            let (ka, kb) = (key(a, at: provider), key(b, at: provider))
            return ka.0 != kb.0 ? ka.0 < kb.0 : ka.1 < kb.1
        }
        var next = [String: Int]()
        var held = [String: [String]]()
        var free = Array(applications.keys)
        while !free.isEmpty {
            var proposals = [String: [String]]()
            for holder in free {
                let choice = next[holder, default: 0]
                guard choice < applications[holder]!.count else { continue }
                proposals[applications[holder]![choice].provider, default: []].append(holder)
            }
            free = []
            if proposals.isEmpty { break }
            for (provider, newcomers) in proposals {
                let all = (held[provider] ?? []) + newcomers
                let sorted = all.sorted { better($0, $1, at: provider) }
                let seats = freeSeats[provider] ?? 0
                held[provider] = Array(sorted.prefix(seats))
                for rejected in sorted.dropFirst(seats) {
                    next[rejected, default: 0] += 1
                    free.append(rejected)
                }
            }
        }
        var placements: [String: Placement] = [:]
        for (provider, holders) in held {
            for holder in holders {
                placements[holder] = Placement(
                    provider: provider, rank: next[holder, default: 0] + 1)
            }
        }
        self.placements = placements
        var waitlists: [String: [String]] = [:]
        for (holder, choices) in applications {
            let above = placements[holder].map { $0.rank - 1 } ?? choices.count
            for choice in choices.prefix(above) {
                waitlists[choice.provider, default: []].append(holder)
            }
        }
        for (provider, holders) in waitlists {
            waitlists[provider] = holders.sorted { better($0, $1, at: provider) }
        }
        self.waitlists = waitlists
    }

    /// What RESULT must answer for `holder` right after the draw (offers: without the seconds).
    func expectedResult(_ holder: String, applications: [String: [Choice]], offers: Bool) -> String
    {
        if let placement = placements[holder] {
            return offers
                ? "+OFFERED \(placement.provider) \(placement.rank)"
                : "+BOOKED \(placement.provider) \(placement.rank)"
        }
        guard let choices = applications[holder] else { return "+NONE" }
        for choice in choices {
            if let position = waitlists[choice.provider]?.firstIndex(of: holder) {
                return "+WAITING \(choice.provider) \(position + 1)"
            }
        }
        return "+UNPLACED"
    }
}
