import KezekDraw

/// One round of applications, as the daemon keeps it (its Redis form is in `KeyLayout`).
struct Round {
    enum Phase: String {
        case open, closed
        /// The draw record (seed, time, free seats) is written and the placements are being
        /// written; a re-sent DRAW finishes it with the same result.
        case drawing
        case drawn
    }

    struct Choice: Equatable {
        var provider: String
        var level: Int
        var token: String { RankedChoice.token(provider: provider, level: level) }
    }

    /// What the draw used, stored before any placement, so a re-run gives the same result.
    struct DrawRecord {
        var seed: String
        /// Unix milliseconds: offers of the draw expire at this plus offer-ttl.
        var drawnAt: Int
        var freeSeats: [String: Int]
        /// Applicants left out because they were at the holder limit.
        var excluded: Set<String>
    }

    struct DrawCounts: Equatable {
        var offered = 0
        var waiting = 0
        var unplaced = 0
        var reply: Reply {
            .simple("DRAWN offered=\(offered) waiting=\(waiting) unplaced=\(unplaced)")
        }
    }

    let id: String
    let commitment: String
    let choiceLimit: Int
    var phase: Phase
    /// Unix milliseconds when it opened: the last one opened is the one DEMAND reports.
    var openedAt = 0
    var applications: [String: [Choice]] = [:]
    var record: DrawRecord?
    var outcome: DrawCounts?
    /// A DRAW is writing its steps now (a second one waits for it).
    var drawing = false

    /// The phase as ROUND STATUS names it (a draw being written is not drawn yet).
    var publicPhase: String { phase == .drawn ? "drawn" : phase == .open ? "open" : "closed" }
    var isUndrawn: Bool { phase != .drawn }

    static func encode(_ choices: [Choice]) -> String {
        choices.map(\.token).joined(separator: " ")
    }

    /// Choices as stored in Redis, or nil when the text is not a valid list.
    static func decode(_ text: String) -> [Choice]? {
        var choices: [Choice] = []
        for token in text.split(separator: " ") {
            guard let (provider, level) = RankedChoice.split(token),
                Identifier.isValid(String(provider))
            else { return nil }
            choices.append(Choice(provider: String(provider), level: level))
        }
        return choices.isEmpty || choices.count > RankedChoice.maxChoices ? nil : choices
    }
}
