import KezekNemesis
import XCTest

/// The nemesis's checker on hand-written histories: it accepts what the contract allows
/// (concurrency, unknown outcomes, promotions) and names what it forbids.
final class HistoryCheckerTests: XCTestCase {
    private func op(
        _ request: HistoryOperation.Request, _ outcome: HistoryOperation.Outcome, _ from: UInt64,
        _ to: UInt64?,
        holder: String = "h1", provider: String = "p", client: Int = 0
    ) -> HistoryOperation {
        HistoryOperation(
            client: client, request: request, provider: provider,
            holder: request == .seats ? "" : holder,
            invoked: from, completed: to ?? .max, outcome: outcome)
    }

    private func kinds(_ operations: [HistoryOperation], capacity: Int = 2, limit: Int = 0)
        -> [Anomaly.Kind]
    {
        HistoryChecker(
            operations: operations, capacity: ["p": capacity, "q": capacity], holderLimit: limit
        ).check()
            .anomalies.map(\.kind)
    }

    func testSequentialHistoryIsLinearizable() {
        XCTAssertEqual(
            kinds([
                op(.book, .booked, 0, 1), op(.status, .statusBooked, 2, 3),
                op(.cancel, .cancelled, 4, 5),
                op(.status, .statusNone, 6, 7), op(.cancel, .notFound, 8, 9),
                op(.confirm, .notFound, 10, 11),
            ]), [])
    }

    func testAcknowledgedBookingReadAsMissingIsLost() {
        XCTAssertEqual(
            kinds([
                op(.book, .booked, 0, 1),
                op(.status, .statusNone, 10, 11, client: HistoryChecker.finalClient),
            ]),
            [.lostAcknowledgedBooking])
    }

    /// The smallest failing window here is the two reads (booked, then none), which leave the
    /// BOOK out; the booking was still acknowledged, so it is lost, not a dirty read. (The
    /// nemesis named such losses `dirty-read ... never acknowledged` before.)
    func testAcknowledgedBookingLostAfterAReadIsNamedLost() {
        XCTAssertEqual(
            kinds([
                op(.book, .booked, 0, 1), op(.status, .statusBooked, 2, 3),
                op(.status, .statusNone, 10, 11, client: HistoryChecker.finalClient),
            ]),
            [.lostAcknowledgedBooking])
    }

    func testUnknownCancelMayExplainAMissingBooking() {
        XCTAssertEqual(
            kinds([
                op(.book, .booked, 0, 1), op(.cancel, .unknown("timeout"), 5, nil),
                op(.status, .statusNone, 10, 11),
            ]), [])
    }

    func testFailedCancelExplainsNothing() {
        XCTAssertEqual(
            kinds([
                op(.book, .booked, 0, 1), op(.cancel, .failed("UNAVAILABLE standby"), 5, 6),
                op(.status, .statusNone, 10, 11),
            ]), [.lostAcknowledgedBooking])
    }

    func testOverlappingRequestsMayBeOrderedEitherWay() {
        XCTAssertEqual(
            kinds([
                op(.book, .booked, 0, 10), op(.status, .statusNone, 1, 2, client: 1),
                op(.status, .statusBooked, 3, 4, client: 1),
            ]), [])
        // But not against real time: read NONE after the booking was answered.
        XCTAssertEqual(
            kinds([op(.book, .booked, 0, 2), op(.status, .statusNone, 3, 4, client: 1)]),
            [.lostAcknowledgedBooking])
    }

    func testReadOfABookingThatNeverHappenedIsCaught() {
        // A dirty read: an unknown BOOK shows as booked, then the booking is gone with no
        // cancellation at all.
        XCTAssertEqual(
            kinds([
                op(.book, .unknown("connection lost"), 0, nil), op(.status, .statusBooked, 1, 2),
                op(.status, .statusNone, 3, 4),
            ]), [.dirtyRead])
    }

    func testWaitingHolderMayBePromotedOrLoseItsPlace() {
        XCTAssertEqual(
            kinds([op(.bookWait, .waiting(1), 0, 1), op(.status, .statusBooked, 2, 3)]), [])
        XCTAssertEqual(
            kinds([op(.bookWait, .waiting(1), 0, 1), op(.status, .statusNone, 2, 3)]), [])
        // A holder with nothing is never promoted.
        XCTAssertEqual(
            kinds([op(.book, .full, 0, 1), op(.status, .statusBooked, 2, 3)]), [.notLinearizable])
    }

    func testOversoldSeatsAndHolderOverLimit() {
        XCTAssertEqual(
            kinds([op(.seats, .seats(capacity: 2, booked: 3, waiting: 0), 0, 1)]), [.oversold])
        let final = HistoryChecker.finalClient
        XCTAssertEqual(
            Set(
                kinds(
                    [
                        op(.book, .booked, 0, 1, holder: "h1"),
                        op(.book, .booked, 0, 1, holder: "h1", provider: "q"),
                        op(.seats, .seats(capacity: 2, booked: 1, waiting: 0), 5, 6, client: final),
                        op(
                            .seats, .seats(capacity: 2, booked: 1, waiting: 0), 5, 6, provider: "q",
                            client: final),
                        op(.status, .statusBooked, 5, 6, holder: "h1", client: final),
                        op(
                            .status, .statusBooked, 5, 6, holder: "h1", provider: "q", client: final
                        ),
                    ], limit: 1)), [.holderOverLimit])
    }

    func testFinalSeatsMustAgreeWithStatus() {
        let final = HistoryChecker.finalClient
        XCTAssertEqual(
            kinds([
                op(.seats, .seats(capacity: 2, booked: 2, waiting: 0), 5, 6, client: final),
                op(.status, .statusNone, 5, 6, client: final),
            ]), [.finalStateDiffers])
    }

    func testWaitlistOrderFollowsJoins() {
        let final = HistoryChecker.finalClient
        let joins = [
            op(.bookWait, .waiting(1), 0, 1, holder: "a"),
            op(.bookWait, .waiting(2), 2, 3, holder: "b"),
        ]
        XCTAssertEqual(
            kinds(
                joins + [
                    op(.status, .statusWaiting(1), 9, 10, holder: "a", client: final),
                    op(.status, .statusWaiting(2), 9, 10, holder: "b", client: final),
                ]), [])
        XCTAssertEqual(
            kinds(
                joins + [
                    op(.status, .statusWaiting(2), 9, 10, holder: "a", client: final),
                    op(.status, .statusWaiting(1), 9, 10, holder: "b", client: final),
                ]), [.waitlistOrder])
    }

    /// CONFIRM answers NOTFOUND to a waiting holder (no offer to confirm): that does not
    /// make a later BOOK … WAIT, which only reads its place, a new join behind others.
    func testConfirmOfAWaitingHolderIsNotALeave() {
        let final = HistoryChecker.finalClient
        XCTAssertEqual(
            kinds([
                op(.bookWait, .waiting(1), 0, 1, holder: "b"),
                op(.bookWait, .waiting(2), 2, 3, holder: "a"),
                op(.confirm, .notFound, 4, 5, holder: "b"),
                op(.bookWait, .waiting(1), 6, 7, holder: "b"),
                op(.status, .statusWaiting(1), 9, 10, holder: "b", client: final),
                op(.status, .statusWaiting(2), 9, 10, holder: "a", client: final),
            ]), [])
    }

    func testSmallestFailingHistoryKeepsOnlyTheWitness() {
        var history: [HistoryOperation] = []
        for index in 0..<40 {
            let time = UInt64(index * 10)
            history.append(
                op(
                    index % 2 == 0 ? .book : .cancel, index % 2 == 0 ? .booked : .cancelled, time,
                    time + 1))
        }
        history.append(op(.book, .booked, 500, 501))
        history.append(op(.status, .statusNone, 510, 511))
        XCTAssertEqual(HolderLinearizability(history).check(), .notLinearizable)
        let witness = HolderLinearizability.smallestFailing(history)
        // A booking, then the read that misses it: nothing else is needed.
        XCTAssertEqual(witness.count, 2)
        XCTAssertEqual(witness.first?.request, .book)
        XCTAssertEqual(witness.last?.invoked, 510)
        XCTAssertEqual(HolderLinearizability(witness).check(), .notLinearizable)
    }

    func testLongHistoryWithUnknownsStaysFast() {
        var history: [HistoryOperation] = []
        for index in 0..<3000 {
            let time = UInt64(index * 10)
            switch index % 6 {
            case 0: history.append(op(.book, .booked, time, time + 15, client: index % 3))
            case 1: history.append(op(.status, .statusBooked, time, time + 4, client: index % 3))
            case 2: history.append(op(.cancel, .unknown("timeout"), time, nil))
            case 3: history.append(op(.bookWait, .booked, time, time + 30, client: index % 3))
            case 4: history.append(op(.cancel, .cancelled, time, time + 9, client: index % 3))
            default: history.append(op(.status, .statusNone, time, time + 3, client: index % 3))
            }
        }
        let started = Date()
        XCTAssertEqual(HolderLinearizability(history).check(), .linearizable)
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
    }

    /// A holder over the limit while the run goes on is caught even when it is back under it
    /// in the final state (seed 2702 on Redis Cluster: three seats at once, limit 2, after a
    /// FLUSHALL of the holder's home master; the final state showed two).
    func testHolderOverTheLimitDuringTheRunIsCaught() {
        let three = [
            op(.book, .booked, 0, 1, provider: "p"), op(.book, .booked, 2, 3, provider: "q"),
            op(.book, .booked, 4, 5, provider: "r"), op(.cancel, .cancelled, 8, 9, provider: "r"),
            op(.status, .statusNone, 20, 21, provider: "r", client: HistoryChecker.finalClient),
        ]
        XCTAssertEqual(kinds(three, limit: 2), [.holderOverLimit])
        XCTAssertEqual(kinds(three, limit: 3), [])
        // A CANCEL that may have taken effect before the third seat came (sent before its
        // answer, answered or not): never three certainly at once.
        let cancelledFirst = [
            op(.book, .booked, 0, 1, provider: "p"), op(.book, .booked, 2, 3, provider: "q"),
            op(.cancel, .cancelled, 4, 6, provider: "p"), op(.book, .booked, 5, 7, provider: "r"),
        ]
        XCTAssertEqual(kinds(cancelledFirst, limit: 2), [])
        let unknownCancel = [
            op(.book, .booked, 0, 1, provider: "p"),
            op(.cancel, .unknown("timeout"), 2, nil, provider: "p"),
            op(.book, .booked, 3, 4, provider: "q"), op(.book, .booked, 5, 6, provider: "r"),
        ]
        XCTAssertEqual(kinds(unknownCancel, limit: 2), [])
    }
}
