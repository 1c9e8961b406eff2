import ArgumentParser
import Foundation
import KezekDraw

/// `kezek-audit verify-draw draw.csv`: re-runs the allocation from the published file alone
/// and compares it with the outcome column.
///
/// The seats each provider had free at the draw are not in the file; the number the draw
/// placed there stands in for them. That gives the same allocation: the published matching
/// is stable with those smaller capacities too, and deferred acceptance with smaller
/// capacities can only give each applicant the same or worse, while the applicant-optimal
/// stable matching is at least as good for everyone as any stable one: so they are equal.
struct VerifyDrawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-draw",
        abstract: "Re-run a published draw.csv and check every row's outcome.")

    @Argument(help: "The published draw.csv (GET /rounds/<round>/draw.csv on the public listener).")
    var file: String

    @Option(
        help:
            "The round's seed (published at the draw): checked against --commitment, and used by --holder."
    )
    var seed: String?

    @Option(help: "The commitment published when the round opened (SHA-256 of the seed, hex).")
    var commitment: String?

    @Option(help: "A holder id: prints its lottery number and its row (needs --seed).")
    var holder: String?

    func run() throws {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw ValidationError("cannot read \(file)")
        }
        let draw: PublishedDraw
        do {
            draw = try PublishedDraw(text: String(decoding: data, as: UTF8.self))
        } catch {
            print("verify-draw: \(file): \(error)")
            throw ExitCode(1)
        }
        var failed = false
        if let seed, let commitment {
            let hash = SHA256.hex(seed)
            if hash == commitment.lowercased() {
                print("seed: SHA-256 matches the commitment")
            } else {
                print("seed: SHA-256 is \(hash), not the commitment \(commitment)")
                failed = true
            }
        }
        if let holder {
            guard let seed else { throw ValidationError("--holder needs --seed") }
            let lottery = SHA256.hex("\(seed):\(holder)")
            if let row = draw.rows.first(where: { $0.lottery == lottery }) {
                print(
                    "holder \(holder): lottery \(lottery): \(row.outcome)\(row.provider.map { " at \($0), choice \(row.rank!)" } ?? "")"
                )
            } else {
                print("holder \(holder): lottery \(lottery): no such row (did it apply?)")
            }
        }
        let mismatches = Self.rerun(draw)
        for line in mismatches.prefix(20) { print("mismatch: \(line)") }
        let placed = draw.rows.filter { $0.provider != nil }.count
        print(
            "rows: \(draw.rows.count), placed: \(placed), unplaced: \(draw.rows.count - placed), re-run mismatches: \(mismatches.count)"
        )
        if !mismatches.isEmpty || failed { throw ExitCode(1) }
        print("verify-draw: the published outcome is the allocation the contract defines")
    }

    /// Rows whose outcome differs from deferred acceptance re-run over the file.
    static func rerun(_ draw: PublishedDraw) -> [String] {
        var index: [String: Int] = [:]
        var providers: [String] = []
        var book = ApplicationBook()
        book.reserve(applicants: draw.rows.count, choices: draw.rows.count * 3)
        for row in draw.rows {
            book.append(
                row.choices.map { choice -> (provider: Int, level: Int) in
                    if index[choice.provider] == nil {
                        index[choice.provider] = providers.count
                        providers.append(choice.provider)
                    }
                    return (index[choice.provider]!, choice.level)
                })
        }
        var seats = [Int](repeating: 0, count: providers.count)
        for row in draw.rows { if let provider = row.provider { seats[index[provider]!] += 1 } }
        // Rows are sorted by lottery number: the lottery order is the row order.
        let allocation = DeferredAcceptance.allocate(
            freeSeats: seats, applications: book,
            lotteryOrder: (0..<Int32(draw.rows.count)).map { $0 })
        var mismatches: [String] = []
        for (a, row) in draw.rows.enumerated() {
            let provider = allocation.provider(of: a).map { providers[$0] }
            if provider != row.provider || allocation.rank(of: a) != row.rank {
                mismatches.append(
                    "\(row.lottery): published \(row.provider ?? "unplaced") \(row.rank.map(String.init) ?? ""), re-run \(provider ?? "unplaced") \(allocation.rank(of: a).map(String.init) ?? "")"
                )
            }
        }
        return mismatches
    }
}
