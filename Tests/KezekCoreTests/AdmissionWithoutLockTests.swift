import Dispatch
import Foundation
import XCTest
@testable import KezekCore
import KezekTestSupport

/// BOOKs that take a free seat holding only their holder's stripe, the seat taken by
/// compare-and-swap (issue 14; DESIGN.md "Admission without the provider lock"): never a seat
/// sold twice, a retry gets its own seat back, the holder limit holds across providers, and a
/// reply's free count is the one Redis passes through.
final class AdmissionWithoutLockTests: XCTestCase {
    private var outboxes: [MirrorOutbox] = []
    private var table: SeatTable!

    private func makeTable(holderLimit: Int = 0) {
        outboxes = [MirrorOutbox()]
        table = SeatTable(
            outboxes: outboxes,
            rules: Provider.BookingRules(
                waitlistLimit: 1_000, limits: HolderLimits(limit: holderLimit)))
    }

    override func setUp() {
        super.setUp()
        makeTable()
    }

    private func provider(_ id: String = "P", capacity: Int) -> Provider {
        table.providerCreatingIfNeeded(id, capacity: capacity).provider
    }

    private func book(_ p: Provider, _ holder: String, wait: Bool = false) -> RequestOutcome {
        p.book(holder, wait: wait, rules: table.rules, mirrorUp: true, ticket: nil)
    }

    private func drain() -> [MirrorWrite] {
        var writes: [MirrorWrite] = []
        outboxes[0].drain(into: &writes)
        return writes
    }

    /// Two holders whose BOOKs take different stripes.
    private func holdersInDifferentStripes() -> (String, String) {
        let first = "h0"
        let second = (1...).lazy.map { "h\($0)" }.first {
            HolderTable.stripe(of: $0) != HolderTable.stripe(of: first)
        }!
        return (first, second)
    }

    func testASeatIsTakenWhileAnotherStripeIsHeld() {
        let p = provider(capacity: 10)
        let (held, other) = holdersInDifferentStripes()
        XCTAssertTrue(p.admitsWithoutLock)
        let done = DispatchSemaphore(value: 0)
        let result = Locked<RequestOutcome?>(nil)
        let seatsWhileHeld = Locked<Bool>(false)
        p.whileStripeLocked(of: held) {
            Thread.detachNewThread { [rules = table.rules] in
                result.set(p.book(other, wait: false, rules: rules, mirrorUp: true, ticket: nil))
                done.signal()
            }
            XCTAssertEqual(
                done.wait(timeout: .now() + 5), .success, "a BOOK in another stripe waited")
            // What needs the whole state waits for the held stripe.
            let seatsDone = DispatchSemaphore(value: 0)
            Thread.detachNewThread {
                _ = p.seats()
                seatsWhileHeld.set(true)
                seatsDone.signal()
            }
            _ = seatsDone.wait(timeout: .now() + 0.2)
            XCTAssertFalse(seatsWhileHeld.current, "SEATS read the state while a stripe was held")
        }
        XCTAssertEqual(result.current.map(describe), "afterMirror +BOOKED 9")
        XCTAssertEqual(p.seats().booked, 1)
    }

    func testConcurrentBooksNeverOversellAndARetryKeepsItsSeat() {
        let capacity = 500
        let p = provider(capacity: capacity)
        let holders = (0..<2_000).map { "holder-\($0)" }
        // Lanes 0 and 1 book the same holders, as do 2 and 3: every holder is booked twice at
        // once, a retry racing the first BOOK.
        let answers = Locked<[String: [String]]>([:])
        runConcurrently(4) { [rules = table.rules] lane in
            var mine: [(String, String)] = []
            for index in stride(from: lane / 2, to: holders.count, by: 2) {
                mine.append(
                    (
                        holders[index],
                        describe(
                            p.book(
                                holders[index], wait: false, rules: rules, mirrorUp: true,
                                ticket: nil))
                    ))
            }
            answers.withLock { all in
                for (holder, text) in mine { all[holder, default: []].append(text) }
            }
        }
        var booked = 0
        for (holder, texts) in answers.current {
            XCTAssertEqual(texts.count, 2)
            let seats = texts.filter { $0.hasPrefix("afterMirror +BOOKED") }.count
            XCTAssertTrue(seats == 0 || seats == 2, "\(holder): \(texts)")
            if seats == 2 { booked += 1 }
        }
        XCTAssertEqual(booked, capacity, "every seat taken once, none twice")
        let seats = p.seats()
        XCTAssertEqual(seats.booked, capacity)
        XCTAssertEqual(seats.capacity - seats.booked, 0)
        let audited = drain().filter {
            if case .audit(.book, _, _) = $0.op { return true } else { return false }
        }
        XCTAssertEqual(audited.count, capacity, "one audit entry per seat taken")
        XCTAssertEqual(
            Set(
                audited.map {
                    if case .audit(_, let holder, _) = $0.op { return holder } else { return "" }
                }
            ).count, capacity)
    }

    func testRepliesCountFreeSeatsInTheOrderRedisAppliesTheWrites() {
        let capacity = 1_000_000
        let p = provider(capacity: capacity)
        let perLane = 20_000
        let replies = Locked<[String: Int]>([:])
        runConcurrently(4) { [rules = table.rules] lane in
            var mine: [(String, Int)] = []
            for index in 0..<perLane {
                let holder = "l\(lane)-\(index)"
                guard
                    case .afterMirror(.booked(let free)) = p.book(
                        holder, wait: false, rules: rules, mirrorUp: true, ticket: nil)
                else {
                    continue
                }
                mine.append((holder, free))
            }
            replies.withLock { all in for (holder, free) in mine { all[holder] = free } }
        }
        let answered = replies.current
        XCTAssertEqual(answered.count, 4 * perLane)
        // Redis applies the writes in queue order: the n-th booking there must have been told
        // capacity - n seats are free, or its reply revealed a booking Redis might not have.
        var expected = capacity
        for write in drain() {
            guard case .book(let holder) = write.op else { continue }
            expected -= 1
            XCTAssertEqual(
                answered[holder], expected,
                "\(holder) was told a free count out of the queue's order")
            if answered[holder] != expected { break }
        }
        XCTAssertEqual(expected, capacity - 4 * perLane)
    }

    func testTheHolderLimitHoldsAcrossProvidersBookedAtOnce() {
        makeTable(holderLimit: 1)
        // Room for every holder at either provider: only the limit refuses.
        let first = provider("P1", capacity: 2_000)
        let second = provider("P2", capacity: 2_000)
        let holders = (0..<1_000).map { "holder-\($0)" }
        let limited = Locked<Int>(0)
        runConcurrently(2) { [rules = table.rules] lane in
            let p = lane == 0 ? first : second
            var refused = 0
            for holder in holders {
                let text = describe(
                    p.book(holder, wait: false, rules: rules, mirrorUp: true, ticket: nil))
                if text.hasPrefix("now +LIMIT") { refused += 1 }
            }
            limited.withLock { $0 += refused }
        }
        XCTAssertEqual(
            first.seats().booked + second.seats().booked, holders.count, "one seat per holder")
        XCTAssertEqual(limited.current, holders.count, "every second BOOK refused by the limit")
        for holder in holders { XCTAssertEqual(table.rules.limits.seats(of: holder), 1) }
        // The seats a refused BOOK took and gave back are free again.
        let bookedBefore = first.seats().booked
        XCTAssertEqual(
            describe(book(first, "late-1")), "afterMirror +BOOKED \(2_000 - bookedBefore - 1)")
    }

    func testAfterTheFirstSellOutSeatsGoThroughTheLock() {
        let p = provider(capacity: 2)
        XCTAssertEqual(describe(book(p, "a")), "afterMirror +BOOKED 1")
        XCTAssertEqual(describe(book(p, "b")), "afterMirror +BOOKED 0")
        XCTAssertEqual(describe(book(p, "c")), "now +FULL P")
        XCTAssertFalse(p.answersSoldOutWithoutLock, "open before Redis confirmed the bookings")
        p.confirmed(drain()[...])
        XCTAssertTrue(
            p.answersSoldOutWithoutLock, "the confirmation that settled it opened the gate")
        XCTAssertFalse(p.admitsWithoutLock, "the gate's member counts are kept under the lock")
        _ = p.cancel("a", rules: table.rules, mirrorUp: true, ticket: nil)
        XCTAssertFalse(p.answersSoldOutWithoutLock)
        XCTAssertEqual(describe(book(p, "c")), "afterMirror +BOOKED 0")
        p.confirmed(drain()[...])
        XCTAssertTrue(p.answersSoldOutWithoutLock)
        // Not one fixed id: the counts say "maybe" for about 1% of non-members here.
        let refused = (0..<100).filter { p.refusesWithoutLock("d\($0)") }.count
        XCTAssertGreaterThanOrEqual(refused, 90, "non-members refused without the lock")
        XCTAssertFalse(
            p.refusesWithoutLock("c"), "a holder booked through the lock was left out of the counts"
        )
    }

    func testAWaitlistOrAnOfferSendsBooksThroughTheLock() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        _ = book(p, "w", wait: true)
        XCTAssertFalse(p.admitsWithoutLock, "a holder waits")
        _ = p.setCapacity(2, rules: table.rules, mirrorUp: true, ticket: nil)
        XCTAssertEqual(p.waitingHolders(), [])
        XCTAssertTrue(p.admitsWithoutLock, "nobody waits, nothing offered, never settled sold out")
        XCTAssertEqual(
            describe(book(p, "w")), "afterMirror +BOOKED 0", "the promoted holder's retry")
    }
}
