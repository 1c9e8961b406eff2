import KezekDraw

/// A `draw.csv` as published (PROTOCOL.md "Publication"): header
/// `lottery,choices,outcome,provider,rank`, one row per applicant, sorted by lottery number.
struct PublishedDraw {
    struct Row {
        var lottery: String
        var choices: [(provider: String, level: Int)]
        var outcome: String
        var provider: String?
        var rank: Int?
    }

    struct Malformed: Error, CustomStringConvertible {
        let description: String
    }

    static let header = "lottery,choices,outcome,provider,rank"

    let rows: [Row]

    init(text: String) throws {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true).map {
            $0.hasSuffix("\r") ? $0.dropLast() : $0
        }
        guard lines.first == Substring(Self.header) else {
            throw Malformed(description: "line 1: expected the header '\(Self.header)'")
        }
        lines.removeFirst()
        var rows: [Row] = []
        rows.reserveCapacity(lines.count)
        for (index, line) in lines.enumerated() {
            let number = index + 2
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == 5 else {
                throw Malformed(
                    description: "line \(number): expected 5 fields, found \(fields.count)")
            }
            let lottery = String(fields[0])
            guard lottery.utf8.count == 64,
                lottery.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) })
            else {
                throw Malformed(
                    description: "line \(number): lottery is not 64 lowercase hex digits")
            }
            var choices: [(provider: String, level: Int)] = []
            for token in fields[1].split(separator: " ") {
                guard let (provider, level) = RankedChoice.split(token) else {
                    throw Malformed(description: "line \(number): bad choice '\(token)'")
                }
                guard !choices.contains(where: { $0.provider == provider }) else {
                    throw Malformed(
                        description: "line \(number): provider '\(provider)' chosen twice")
                }
                choices.append((String(provider), level))
            }
            guard !choices.isEmpty, choices.count <= RankedChoice.maxChoices else {
                throw Malformed(
                    description: "line \(number): 1 to \(RankedChoice.maxChoices) choices expected")
            }
            let outcome = String(fields[2])
            var row = Row(
                lottery: lottery, choices: choices, outcome: outcome, provider: nil, rank: nil)
            switch outcome {
            case "offered", "booked":
                guard let rank = Int(fields[4]), rank >= 1, rank <= choices.count,
                    choices[rank - 1].provider == fields[3]
                else {
                    throw Malformed(
                        description:
                            "line \(number): provider and rank must name one of the row's choices")
                }
                row.provider = String(fields[3])
                row.rank = rank
            case "unplaced":
                guard fields[3].isEmpty, fields[4].isEmpty else {
                    throw Malformed(
                        description: "line \(number): an unplaced row has no provider or rank")
                }
            default:
                throw Malformed(
                    description: "line \(number): outcome must be offered, booked or unplaced")
            }
            if let previous = rows.last, previous.lottery >= lottery {
                throw Malformed(
                    description: "line \(number): rows are not sorted by lottery number")
            }
            rows.append(row)
        }
        self.rows = rows
    }
}
