import Dispatch
import Foundation
import XCTest
@testable import KezekCore
import KezekTestSupport

/// Sold-out BOOKs answered without the provider's lock (issue 14): non-members get `+FULL`
/// while another thread holds the lock; members (holders, waiting holders) always go through
/// the lock and get their own answer; the shortcut is open only while the provider is sold out
/// and Redis has every write.
final class SoldOutWithoutLockTests: XCTestCase {
    private var outboxes: [MirrorOutbox] = []
    private var table: SeatTable!

    override func setUp() {
        super.setUp()
        outboxes = [MirrorOutbox()]
        table = SeatTable(
            outboxes: outboxes,
            rules: Provider.BookingRules(waitlistLimit: 1_000, limits: HolderLimits(limit: 0)))
    }

    private func provider(capacity: Int) -> Provider {
        table.providerCreatingIfNeeded("P", capacity: capacity).provider
    }

    private func book(_ p: Provider, _ holder: String, wait: Bool = false) -> RequestOutcome {
        p.book(holder, wait: wait, rules: table.rules, mirrorUp: true, ticket: nil)
    }

    private func cancel(_ p: Provider, _ holder: String) -> RequestOutcome {
        p.cancel(holder, rules: table.rules, mirrorUp: true, ticket: nil)
    }

    /// Redis confirms every write queued so far (what the owner's mirror connection does).
    private func confirmAll(_ p: Provider) {
        var writes: [MirrorWrite] = []
        outboxes[0].drain(into: &writes)
        p.confirmed(writes[...])
    }

    /// A BOOK made on another thread while this one holds the provider's lock: its outcome if
    /// it finished while the lock was held, else nil (and the outcome once the lock is gone).
    private func bookAgainstTheLock(_ p: Provider, _ holder: String) -> (
        whileLocked: RequestOutcome?, after: RequestOutcome
    ) {
        let done = DispatchSemaphore(value: 0)
        let result = Locked<RequestOutcome?>(nil)
        var whileLocked: RequestOutcome?
        p.whileLocked {
            Thread.detachNewThread { [rules = table.rules] in
                result.set(p.book(holder, wait: false, rules: rules, mirrorUp: true, ticket: nil))
                done.signal()
            }
            if done.wait(timeout: .now() + 0.3) == .success { whileLocked = result.current }
        }
        if whileLocked == nil { XCTAssertEqual(done.wait(timeout: .now() + 5), .success) }
        return (whileLocked, result.current!)
    }

    func testNonMemberIsRefusedWhileTheLockIsHeld() {
        let p = provider(capacity: 2)
        _ = book(p, "a")
        _ = book(p, "b")
        XCTAssertFalse(p.answersSoldOutWithoutLock, "open before Redis confirmed the bookings")
        confirmAll(p)
        XCTAssertTrue(p.answersSoldOutWithoutLock)
        let (whileLocked, _) = bookAgainstTheLock(p, "z")
        XCTAssertEqual(whileLocked.map(describe), "now +FULL P", "a non-member waited for the lock")
        XCTAssertEqual(p.seats().refused, 1)
    }

    func testMembersGoThroughTheLockAndGetTheirOwnAnswer() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        _ = book(p, "w", wait: true)
        confirmAll(p)
        XCTAssertTrue(p.answersSoldOutWithoutLock)
        let holder = bookAgainstTheLock(p, "a")
        XCTAssertNil(holder.whileLocked.map(describe), "a holder was answered without the lock")
        XCTAssertEqual(describe(holder.after), "afterMirror +BOOKED 0")
        confirmAll(p)
        let waiting = bookAgainstTheLock(p, "w")
        XCTAssertNil(
            waiting.whileLocked.map(describe), "a waiting holder was answered without the lock")
        XCTAssertEqual(describe(waiting.after), "now +WAITING 1")
        XCTAssertEqual(p.seats().refused, 0)
    }

    /// Holders who took a seat after the counts were made (after a cancellation) are members too.
    func testShortcutClosesWhileSeatsAreFreeAndCountsLaterHolders() {
        let p = provider(capacity: 2)
        _ = book(p, "a")
        _ = book(p, "b")
        confirmAll(p)
        _ = cancel(p, "b")
        XCTAssertFalse(p.answersSoldOutWithoutLock, "open with a seat free")
        confirmAll(p)
        XCTAssertFalse(p.answersSoldOutWithoutLock, "open with a seat free")
        XCTAssertEqual(describe(book(p, "c")), "afterMirror +BOOKED 0")
        XCTAssertFalse(p.answersSoldOutWithoutLock, "open before Redis confirmed the booking")
        confirmAll(p)
        XCTAssertTrue(p.answersSoldOutWithoutLock)
        XCTAssertFalse(p.refusesWithoutLock("c"))
        XCTAssertFalse(p.refusesWithoutLock("a"))
        XCTAssertEqual(describe(book(p, "c")), "afterMirror +BOOKED 0")
    }

    /// Random histories of BOOK, BOOK WAIT, CANCEL, capacity changes and confirmations: after
    /// every step, while the shortcut is open the provider is sold out, Redis has every write,
    /// and no member would be refused by it.
    func testRandomHistoriesNeverRefuseAMember() {
        var generator = SplitMix64(seed: 14)
        let universe = (0..<40).map { "h\($0)" }
        var opened = 0
        for _ in 0..<200 {
            setUp()
            let p = provider(capacity: Int(generator.next() % 6) + 1)
            for _ in 0..<150 {
                let holder = universe[Int(generator.next() % UInt64(universe.count))]
                switch generator.next() % 10 {
                case 0...3: _ = book(p, holder)
                case 4...5: _ = book(p, holder, wait: true)
                case 6...7: _ = cancel(p, holder)
                case 8:
                    _ = p.setCapacity(
                        p.seats().booked + Int(generator.next() % 2), rules: table.rules,
                        mirrorUp: true, ticket: nil)
                default: confirmAll(p)
                }
                guard p.answersSoldOutWithoutLock else { continue }
                opened += 1
                XCTAssertEqual(p.seats().free, 0, "open with a seat free")
                for member in universe where p.status(of: member) != .none {
                    XCTAssertFalse(
                        p.refusesWithoutLock(member),
                        "\(member) is a member (\(p.status(of: member)))")
                }
            }
        }
        XCTAssertGreaterThan(opened, 1_000, "the histories hardly ever opened the shortcut")
    }

    /// Threads retrying BOOK for holders who keep their seats while another thread cancels and
    /// books other holders (and confirms, as the mirror does): no retry is ever refused.
    func testRetriesAreNeverRefusedWhileOthersChurn() {
        let p = provider(capacity: 64)
        for index in 0..<64 { _ = book(p, "h\(index)") }
        confirmAll(p)
        let stop = Locked(false)
        let wrongFulls = Locked(0)
        let retries = Locked(0)
        let group = DispatchGroup()
        for reader in 0..<2 {
            DispatchQueue.global().async(group: group) { [rules = table.rules] in
                var index = reader
                var count = 0
                while !stop.current {
                    let outcome = p.book(
                        "h\(index % 32)", wait: false, rules: rules, mirrorUp: true, ticket: nil)
                    if case .now(.full) = outcome { wrongFulls.withLock { $0 += 1 } }
                    index += 1
                    count += 1
                }
                retries.withLock { $0 += count }
            }
        }
        let deadline = Date().addingTimeInterval(1.0)
        var round = 0
        while Date() < deadline {
            let holder = "h\(32 + round % 32)"
            _ = cancel(p, holder)
            confirmAll(p)
            _ = book(p, holder)
            _ = book(p, "newcomer\(round)")  // refused: sold out again once confirmed
            confirmAll(p)
            round += 1
        }
        stop.set(true)
        group.wait()
        XCTAssertEqual(wrongFulls.current, 0, "holders with a seat were answered +FULL")
        XCTAssertGreaterThan(retries.current, 1_000)
        XCTAssertGreaterThan(round, 100)
    }

    /// After a load the gate stays shut (no counts made) until a BOOK is refused under the lock;
    /// from then on non-members are refused without it and the loaded members never are.
    func testAfterALoadTheFirstRefusalUnderTheLockOpensTheGate() {
        let p = provider(capacity: 2)
        let settling = p.restore(
            capacity: 2, holders: ["a", "b"], waiting: [(holder: "w", score: 0)],
            rules: table.rules)
        XCTAssertEqual(settling.count, 0)
        XCTAssertFalse(p.answersSoldOutWithoutLock, "counts made at the load")
        XCTAssertEqual(describe(book(p, "w")), "now +WAITING 1")
        XCTAssertFalse(p.answersSoldOutWithoutLock, "opened by a member's answer")
        XCTAssertEqual(describe(book(p, "z")), "now +FULL P")
        XCTAssertTrue(p.answersSoldOutWithoutLock, "still shut after a refusal")
        // The counts may say "maybe" for a non-member (about 1% here: 3 members, 64 counters,
        // seeded at random per table); one fixed id made this test fail about once in 100 runs.
        let refused = (0..<100).filter { p.refusesWithoutLock("y\($0)") }.count
        XCTAssertGreaterThanOrEqual(refused, 90, "non-members refused without the lock")
        for member in ["a", "b", "w"] {
            XCTAssertFalse(p.refusesWithoutLock(member), "\(member), loaded, refused")
        }
        XCTAssertEqual(describe(book(p, "a")), "afterMirror +BOOKED 0")
        XCTAssertEqual(p.seats().refused, 1)
    }

    /// Refusals counted without the lock (striped by thread) add up exactly, and the owner's
    /// tick is told and mirrors the total.
    func testRefusalsWithoutTheLockAreAllCountedAndMirrored() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        confirmAll(p)
        XCTAssertTrue(p.answersSoldOutWithoutLock)
        XCTAssertNil(p.refusedWriteIfChanged())
        let rules = table.rules
        DispatchQueue.concurrentPerform(iterations: 4) { lane in
            for index in 0..<25_000 {
                _ = p.book(
                    "x\(lane)-\(index)", wait: false, rules: rules, mirrorUp: true, ticket: nil)
            }
        }
        XCTAssertEqual(p.refusedCount, 100_000)
        XCTAssertEqual(
            outboxes[0].drainRefusedChanged().map(\.id), ["P"], "the owner was not told (once)")
        XCTAssertEqual(p.refusedWriteIfChanged()?.op, .refused(100_000))
        XCTAssertNil(p.refusedWriteIfChanged())
    }

    /// A look-up that overlapped a change is not trusted: here the holder cancels between the
    /// gate's version read and its look-up, so its counts read zero while a seat is free.
    func testALookUpOverlappingAChangeIsNotTrusted() {
        let p = provider(capacity: 2)
        _ = book(p, "a")
        _ = book(p, "h")
        confirmAll(p)
        XCTAssertTrue(p.answersSoldOutWithoutLock)
        XCTAssertFalse(
            p.refusesWithoutLock("h", whileLooking: { _ = cancel(p, "h") }),
            "trusted a look-up that a cancellation overlapped")
        confirmAll(p)
        _ = book(p, "h")
        confirmAll(p)
        XCTAssertFalse(
            p.refusesWithoutLock(
                "h",
                whileLooking: {
                    _ = cancel(p, "h"); _ = book(p, "h"); confirmAll(p)
                }),
            "trusted a look-up that a cancellation and a new booking overlapped")
    }

    /// A holder cancelling and booking again while its own retries run: it is a member in every
    /// state but the instant between the two, when a seat is free, so +FULL is never right.
    func testRetriesRacingTheirOwnCancellationAreNeverRefused() {
        let h = "h"
        let p = provider(capacity: 4)
        for holder in ["a", "b", "c", h] { _ = book(p, holder) }
        confirmAll(p)
        let stop = Locked(false)
        let wrongFulls = Locked(0)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) { [rules = table.rules] in
            var wrong = 0
            while !stop.current {
                if case .now(.full) = p.book(
                    h, wait: false, rules: rules, mirrorUp: true, ticket: nil)
                {
                    wrong += 1
                }
            }
            wrongFulls.withLock { $0 += wrong }
        }
        // A fixed number of rounds, each a window for the race; the deadline only bounds a
        // machine so slow that the test would run for ever (every retry queues a write, which
        // `confirmAll` then applies, so a round's cost varies with the retries it overlapped).
        let deadline = Date().addingTimeInterval(20)
        var rounds = 0
        while rounds < 300 && Date() < deadline {
            _ = cancel(p, h)
            _ = book(p, h)
            confirmAll(p)
            rounds += 1
        }
        stop.set(true)
        group.wait()
        XCTAssertEqual(wrongFulls.current, 0, "a holder's retry was answered +FULL")
        XCTAssertEqual(rounds, 300, "the rounds did not finish in 20 s")
    }
}

/// MemberCounts on its own: no member is ever reported absent, through inserts, removals and
/// saturated counters; few non-members are reported as maybe members.
final class MemberCountsTests: XCTestCase {
    func testMembersAreNeverReportedAbsent() {
        let counts = MemberCounts(counters: 1024)
        defer { counts.deallocate() }
        var members = Set<String>()
        var generator = SplitMix64(seed: 7)
        for step in 0..<20_000 {
            let holder = "h\(generator.next() % 300)"
            if members.contains(holder), step % 3 == 0 {
                counts.remove(holder)
                members.remove(holder)
            } else if !members.contains(holder) {
                counts.insert(holder)
                members.insert(holder)
            }
            if step % 100 == 0 {
                for member in members {
                    XCTAssertTrue(counts.mightContain(member), "\(member) reported absent")
                }
            }
        }
    }

    func testSaturatedCountersStaySet() {
        let counts = MemberCounts(counters: 1024)
        defer { counts.deallocate() }
        for _ in 0..<300 { counts.insert("same") }
        for _ in 0..<299 { counts.remove("same") }
        XCTAssertTrue(counts.mightContain("same"))
        for _ in 0..<10 { counts.remove("same") }
        XCTAssertTrue(
            counts.mightContain("same"), "a saturated counter must never fall back to zero")
    }

    func testFewFalseMaybesAtEightCountersAMember() {
        let counts = MemberCounts(counters: 8192)
        defer { counts.deallocate() }
        for index in 0..<1024 { counts.insert("member\(index)") }
        let falseMaybes = (0..<100_000).filter { counts.mightContain("other\($0)") }.count
        XCTAssertLessThan(falseMaybes, 7_000, "expected about 5% false maybes")
        XCTAssertGreaterThan(falseMaybes, 0)
    }
}
