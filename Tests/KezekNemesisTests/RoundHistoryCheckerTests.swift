import KezekDraw
import KezekNemesis
import XCTest

/// The fair rounds' checker on hand-written histories: one provider with one seat, two
/// applicants; the lottery (SHA-256 of `seed:holder`) decides which one gets it.
final class RoundHistoryCheckerTests: XCTestCase {
    private let round = RoundSpec(name: "r", seed: "s1", providers: ["p"], capacity: [1])
    private var winner: String {
        LotteryNumber(seed: "s1", holder: "a") < LotteryNumber(seed: "s1", holder: "b") ? "a" : "b"
    }
    private var loser: String { winner == "a" ? "b" : "a" }

    private func op(
        _ request: RoundOperation.Request, _ outcome: RoundOperation.Outcome, _ from: UInt64,
        _ to: UInt64?, holder: String
    ) -> RoundOperation {
        RoundOperation(
            client: 0, round: "r", holder: holder, request: request, invoked: from,
            completed: to ?? .max, outcome: outcome)
    }

    private func row(_ holder: String, _ outcome: String) -> PublishedRow {
        let lottery = LotteryNumber(seed: "s1", holder: holder).hex
        let placed = outcome == "booked"
        return PublishedRow(
            csv: Substring("\(lottery),p,\(outcome),\(placed ? "p" : ""),\(placed ? "1" : "")"))!
    }

    /// Both applied and were acknowledged; the draw placed the lottery's winner.
    private var applied: [RoundOperation] {
        [
            op(.apply(["p"]), .applied(1), 0, 1, holder: "a"),
            op(.apply(["p"]), .applied(1), 0, 1, holder: "b"),
            op(.draw, .drawn("offered=1 waiting=1 unplaced=1"), 5, 6, holder: ""),
        ]
    }

    private func kinds(_ history: [RoundOperation], rows: [PublishedRow], booked: Int = 1)
        -> [Anomaly.Kind]
    {
        RoundHistoryChecker(
            rounds: [round], operations: history,
            finals: ["r": RoundFinal(rows: rows, seats: ["p": (booked, rows.count - booked)])]
        ).check().map(\.kind)
    }

    func testTheDrawOfTheAcknowledgedApplicationsPasses() {
        let reads = [
            op(.result, .booked(provider: "p", rank: 1), 7, 8, holder: winner),
            op(.result, .waiting(provider: "p", position: 1), 7, 8, holder: loser),
        ]
        XCTAssertEqual(
            kinds(applied + reads, rows: [row(winner, "booked"), row(loser, "unplaced")]), [])
    }

    func testAnAcknowledgedApplicationMissingFromTheDrawIsLost() {
        let history =
            applied.filter { $0.holder != loser } + [
                op(.apply(["p"]), .applied(1), 0, 1, holder: loser)
            ]
        XCTAssertEqual(
            kinds(history, rows: [row(winner, "booked")], booked: 1).filter {
                $0 == .lostApplication
            }, [.lostApplication])
    }

    func testAnApplicationWhoseAnswerNeverCameMayBeInTheDrawOrNot() {
        let history = [
            op(.apply(["p"]), .applied(1), 0, 1, holder: winner),
            op(.apply(["p"]), .unknown("timeout"), 0, nil, holder: loser),
            op(.draw, .drawn("offered=1 waiting=0 unplaced=0"), 5, 6, holder: ""),
        ]
        XCTAssertEqual(kinds(history, rows: [row(winner, "booked")]), [])
    }

    func testAnApplicationNeverSentIsAPhantom() {
        let history = [
            op(.apply(["p"]), .applied(1), 0, 1, holder: winner),
            op(.withdraw, .withdrawn, 2, 3, holder: loser),
            op(.draw, .drawn("offered=1 waiting=1 unplaced=1"), 5, 6, holder: ""),
        ]
        XCTAssertEqual(
            kinds(history, rows: [row(winner, "booked"), row(loser, "unplaced")]),
            [.phantomApplication])
    }

    func testADrawThatIsNotTheLotterysIsCaught() {
        XCTAssertEqual(
            kinds(applied, rows: [row(winner, "unplaced"), row(loser, "booked")]),
            [.drawDiffers, .drawDiffers])
    }

    func testAResultAfterTheDrawMustBeTheHoldersOutcome() {
        let reads = [op(.result, .waiting(provider: "p", position: 1), 7, 8, holder: winner)]
        XCTAssertEqual(
            kinds(applied + reads, rows: [row(winner, "booked"), row(loser, "unplaced")]),
            [.resultDiffers])
    }

    func testFinalSeatsMustBeTheDraws() {
        XCTAssertEqual(
            kinds(applied, rows: [row(winner, "booked"), row(loser, "unplaced")], booked: 0),
            [.finalStateDiffers])
    }
}
