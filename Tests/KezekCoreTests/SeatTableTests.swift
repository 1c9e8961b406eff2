import Dispatch
import Synchronization
import XCTest
@testable import KezekCore

/// `RequestOutcome` made comparable for assertions.
private enum Got: Equatable {
    case now(Reply)
    case afterMirror(Reply)

    init(_ outcome: KezekCore.RequestOutcome) {
        switch outcome {
        case .now(let reply): self = .now(reply)
        case .afterMirror(let reply): self = .afterMirror(reply)
        }
    }
}

final class SeatTableTests: XCTestCase {
    private var outboxes: [MirrorOutbox] = []
    private var table: SeatTable!

    override func setUp() {
        super.setUp()
        makeTable(holderLimit: 0)
    }

    private func makeTable(holderLimit: Int, waitlistLimit: Int = 10) {
        outboxes = [MirrorOutbox(), MirrorOutbox()]
        table = SeatTable(
            outboxes: outboxes,
            rules: Provider.BookingRules(
                waitlistLimit: waitlistLimit, limits: HolderLimits(limit: holderLimit)))
    }

    private func provider(_ id: String = "P", capacity: Int) -> Provider {
        let (provider, created) = table.providerCreatingIfNeeded(id, capacity: capacity)
        XCTAssertTrue(created)
        return provider
    }

    private func book(
        _ provider: Provider, _ holder: String, wait: Bool = false, mirrorUp: Bool = true
    ) -> Got {
        Got(provider.book(holder, wait: wait, rules: table.rules, mirrorUp: mirrorUp, ticket: nil))
    }

    private func cancel(_ provider: Provider, _ holder: String, mirrorUp: Bool = true) -> Got {
        Got(provider.cancel(holder, rules: table.rules, mirrorUp: mirrorUp, ticket: nil))
    }

    private func setCapacity(_ provider: Provider, _ capacity: Int, mirrorUp: Bool = true) -> Got {
        Got(provider.setCapacity(capacity, rules: table.rules, mirrorUp: mirrorUp, ticket: nil))
    }

    /// The changes in the outbox of `provider`'s owner (drained), without their audit entries;
    /// the other outboxes must have nothing.
    private func drainWrites(
        _ provider: Provider, file: StaticString = #filePath, line: UInt = #line
    ) -> [MirrorOp] {
        drainAll(provider, file: file, line: line).filter { !$0.isAudit }
    }

    /// Every write in the outbox of `provider`'s owner, audit entries included (drained).
    private func drainAll(_ provider: Provider, file: StaticString = #filePath, line: UInt = #line)
        -> [MirrorOp]
    {
        var result: [MirrorOp] = []
        for (index, outbox) in outboxes.enumerated() {
            var writes: [MirrorWrite] = []
            outbox.drain(into: &writes)
            if index == provider.owner {
                XCTAssertTrue(
                    writes.allSatisfy { $0.provider === provider }, file: file, line: line)
                result = writes.map(\.op)
            } else {
                XCTAssertEqual(
                    writes.count, 0, "writes in a non-owner outbox", file: file, line: line)
            }
        }
        return result
    }

    private func seats(_ provider: Provider) -> SeatsSnapshot { provider.seats() }

    // MARK: Table

    /// PROVIDER's capacity write must reach Redis before any booking at the new provider,
    /// even when another thread books the instant the provider appears.
    func testAnnouncementPrecedesBookingsFromOtherThreads() {
        let found = DispatchSemaphore(value: 0)
        let booker = Thread { [table = table!] in
            while table.provider("race") == nil { sched_yield() }
            let provider = table.provider("race")!
            _ = provider.book("early", wait: false, rules: table.rules, mirrorUp: true, ticket: nil)
            found.signal()
        }
        booker.start()
        let (provider, created) = table.providerCreatingIfNeeded("race", capacity: 5) { provider in
            usleep(50_000)  // a slow announcement: the booker must still wait for it
            provider.mirrorCreation(capacity: 5, ticket: nil, now: 0)
        }
        XCTAssertTrue(created)
        XCTAssertEqual(found.wait(timeout: .now() + 5), .success)
        XCTAssertEqual(drainWrites(provider), [.capacity(5), .book(holder: "early")])
    }

    func testProviderLookupAndOwner() {
        XCTAssertNil(table.provider("P"))
        let p = provider(capacity: 2)
        XCTAssertTrue(table.provider("P") === p)
        let (again, created) = table.providerCreatingIfNeeded("P", capacity: 99)
        XCTAssertFalse(created)
        XCTAssertTrue(again === p)
        XCTAssertEqual(seats(p).capacity, 2)
        XCTAssertEqual(p.owner, table.ownerOf("P"))
        XCTAssertEqual(table.providerCount, 1)
        XCTAssertEqual(table.threadCount, 2)
        // Owners spread over both threads.
        let owners = Set((0..<50).map { table.ownerOf("prov\($0)") })
        XCTAssertEqual(owners, [0, 1])
    }

    // MARK: BOOK

    func testBookUntilFull() {
        let p = provider(capacity: 3)
        XCTAssertEqual(book(p, "a"), .afterMirror(.booked(free: 2)))
        XCTAssertEqual(book(p, "b"), .afterMirror(.booked(free: 1)))
        XCTAssertEqual(book(p, "c"), .afterMirror(.booked(free: 0)))
        XCTAssertEqual(book(p, "d"), .now(.full(provider: "P")))
        XCTAssertEqual(
            drainWrites(p), [.book(holder: "a"), .book(holder: "b"), .book(holder: "c")])
        XCTAssertEqual(seats(p), SeatsSnapshot(capacity: 3, booked: 3, waiting: 0, refused: 1))
        XCTAssertEqual(p.seats().free, 0)
        XCTAssertEqual(p.status(of: "a"), .bookedStatus)
        XCTAssertEqual(p.status(of: "d"), Reply.none)
    }

    func testRebookIsIdempotent() {
        let p = provider(capacity: 3)
        XCTAssertEqual(book(p, "a"), .afterMirror(.booked(free: 2)))
        XCTAssertEqual(book(p, "a"), .afterMirror(.booked(free: 2)))
        XCTAssertEqual(book(p, "a", wait: true), .afterMirror(.booked(free: 2)))
        XCTAssertEqual(seats(p).booked, 1)
        // The fact is resent, so the reply waits until Redis surely has it.
        XCTAssertEqual(
            drainWrites(p), [.book(holder: "a"), .book(holder: "a"), .book(holder: "a")])
    }

    func testRebookWhenFullStillBooked() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        XCTAssertEqual(book(p, "a"), .afterMirror(.booked(free: 0)))
        XCTAssertEqual(seats(p).refused, 0)
    }

    func testWaitGivesPositions() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        _ = drainWrites(p)
        XCTAssertEqual(book(p, "w1", wait: true), .afterMirror(.waiting(position: 1)))
        XCTAssertEqual(book(p, "w2", wait: true), .afterMirror(.waiting(position: 2)))
        // Asking again answers the current position, with nothing written.
        XCTAssertEqual(book(p, "w1", wait: true), .now(.waiting(position: 1)))
        XCTAssertEqual(book(p, "w2"), .now(.waiting(position: 2)))
        XCTAssertEqual(p.status(of: "w2"), .waiting(position: 2))
        XCTAssertEqual(p.waitingHolders(), ["w1", "w2"])
        XCTAssertEqual(
            drainWrites(p), [.enqueue(holder: "w1", score: 0), .enqueue(holder: "w2", score: 1)])
        XCTAssertEqual(seats(p), SeatsSnapshot(capacity: 1, booked: 1, waiting: 2, refused: 0))
    }

    func testWaitlistLimitAnswersFull() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        for index in 1...10 {
            XCTAssertEqual(
                book(p, "w\(index)", wait: true), .afterMirror(.waiting(position: index)))
        }
        XCTAssertEqual(book(p, "w11", wait: true), .now(.full(provider: "P")))
        XCTAssertEqual(p.status(of: "w11"), Reply.none)
        XCTAssertEqual(seats(p).waiting, 10)
    }

    func testRefusedCountsFullAnswers() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        _ = book(p, "b")
        _ = book(p, "c")
        _ = book(p, "w", wait: true)
        XCTAssertEqual(seats(p).refused, 2)
        XCTAssertEqual(p.refusedCount, 2)
    }

    /// Issue 8, finding 7: the owner's tick walked every provider to find changed refused
    /// counts (13% of a core idle with 200k providers). Now a provider is queued for its
    /// owner once, at its first +FULL since the last mirror, and the tick visits only those.
    func testOnlyProvidersThatRefusedAreQueuedOnceForTheirOwner() {
        let p = provider("P", capacity: 0)
        let q = provider("Q", capacity: 0)
        _ = provider("quiet", capacity: 0)
        for holder in ["a", "b", "c"] { _ = book(p, holder) }
        _ = book(q, "d")
        let queued = outboxes.flatMap { $0.drainRefusedChanged() }
        XCTAssertEqual(queued.map(\.id).sorted(), ["P", "Q"])
        XCTAssertTrue(outboxes[p.owner] === p.outbox)
        XCTAssertEqual(
            outboxes.flatMap { $0.drainRefusedChanged() }.count, 0,
            "queued again without a new refusal")
        // Still queued (not yet mirrored): a further refusal queues nothing new.
        _ = book(p, "e")
        XCTAssertEqual(outboxes.flatMap { $0.drainRefusedChanged() }.count, 0)
        guard case .refused(4)? = p.refusedWriteIfChanged()?.op else {
            return XCTFail("no write of the refused count 4")
        }
        XCTAssertNil(p.refusedWriteIfChanged())
        _ = book(p, "f")
        XCTAssertEqual(
            outboxes.flatMap { $0.drainRefusedChanged() }.map(\.id), ["P"],
            "queued again after it was mirrored")
    }

    func testZeroCapacityProviderIsFull() {
        let p = provider(capacity: 0)
        XCTAssertEqual(book(p, "a"), .now(.full(provider: "P")))
        XCTAssertEqual(book(p, "a", wait: true), .afterMirror(.waiting(position: 1)))
    }

    // MARK: CANCEL

    func testCancelPromotesWaitlistHead() {
        let p = provider(capacity: 2)
        _ = book(p, "a")
        _ = book(p, "b")
        _ = book(p, "w1", wait: true)
        _ = book(p, "w2", wait: true)
        _ = drainWrites(p)
        XCTAssertEqual(cancel(p, "a"), .afterMirror(.cancelled(free: 0)))
        XCTAssertEqual(
            drainWrites(p), [.unbook(holder: "a"), .book(holder: "w1"), .dequeue(holder: "w1")])
        XCTAssertEqual(p.status(of: "a"), Reply.none)
        XCTAssertEqual(p.status(of: "w1"), .bookedStatus)
        XCTAssertEqual(p.status(of: "w2"), .waiting(position: 1))
        XCTAssertEqual(seats(p), SeatsSnapshot(capacity: 2, booked: 2, waiting: 1, refused: 0))
        XCTAssertEqual(p.seats().free, 0)
    }

    func testCancelWithEmptyWaitlistFreesSeat() {
        let p = provider(capacity: 2)
        _ = book(p, "a")
        _ = drainWrites(p)
        XCTAssertEqual(cancel(p, "a"), .afterMirror(.cancelled(free: 2)))
        XCTAssertEqual(drainWrites(p), [.unbook(holder: "a")])
        XCTAssertEqual(p.seats().free, 2)
    }

    func testCancelWaitingHolderDequeues() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        _ = book(p, "w1", wait: true)
        _ = book(p, "w2", wait: true)
        _ = drainWrites(p)
        XCTAssertEqual(cancel(p, "w1"), .afterMirror(.cancelled(free: 0)))
        XCTAssertEqual(drainWrites(p), [.dequeue(holder: "w1")])
        XCTAssertEqual(p.status(of: "w2"), .waiting(position: 1))
        XCTAssertEqual(p.status(of: "a"), .bookedStatus)
    }

    func testCancelUnknownIsNotFound() {
        let p = provider(capacity: 1)
        XCTAssertEqual(cancel(p, "nobody"), .now(.notFound(holder: "nobody")))
        XCTAssertEqual(drainWrites(p), [])
    }

    func testHolderAtLimitLosesWaitlistPlaceOnPromotion() {
        makeTable(holderLimit: 1)
        let p1 = provider("P1", capacity: 1)
        let p2 = provider("P2", capacity: 1)
        XCTAssertEqual(book(p2, "y"), .afterMirror(.booked(free: 0)))
        XCTAssertEqual(book(p2, "x", wait: true), .afterMirror(.waiting(position: 1)))
        XCTAssertEqual(book(p2, "z", wait: true), .afterMirror(.waiting(position: 2)))
        // x reaches the limit elsewhere while waiting at P2.
        XCTAssertEqual(book(p1, "x"), .afterMirror(.booked(free: 0)))
        for outbox in outboxes {
            var writes: [MirrorWrite] = []
            outbox.drain(into: &writes)
        }
        XCTAssertEqual(cancel(p2, "y"), .afterMirror(.cancelled(free: 0)))
        XCTAssertEqual(
            drainWrites(p2),
            [
                .unbook(holder: "y"), .dequeue(holder: "x"), .book(holder: "z"),
                .dequeue(holder: "z"),
            ])
        XCTAssertEqual(p2.status(of: "x"), Reply.none)
        XCTAssertEqual(p2.status(of: "z"), .bookedStatus)
        XCTAssertEqual(table.rules.limits.seats(of: "x"), 1)
        XCTAssertEqual(table.rules.limits.seats(of: "y"), 0)
    }

    func testWaitAtHolderLimitAnswersLimit() {
        makeTable(holderLimit: 1)
        let p1 = provider("P1", capacity: 1)
        let p2 = provider("P2", capacity: 1)
        _ = book(p1, "x")
        _ = book(p2, "y")
        XCTAssertEqual(book(p2, "x", wait: true), .now(.limit(holder: "x")))
        XCTAssertEqual(p2.status(of: "x"), Reply.none)
        XCTAssertEqual(seats(p2).waiting, 0)
    }

    func testHolderLimitAnswersLimitAndCancelReleases() {
        makeTable(holderLimit: 2)
        let ps = (1...3).map { provider("P\($0)", capacity: 5) }
        XCTAssertEqual(book(ps[0], "h"), .afterMirror(.booked(free: 4)))
        XCTAssertEqual(book(ps[1], "h"), .afterMirror(.booked(free: 4)))
        XCTAssertEqual(book(ps[2], "h"), .now(.limit(holder: "h")))
        XCTAssertEqual(seats(ps[2]).booked, 0)
        XCTAssertEqual(table.rules.limits.seats(of: "h"), 2)
        _ = cancel(ps[0], "h")
        XCTAssertEqual(table.rules.limits.seats(of: "h"), 1)
        XCTAssertEqual(book(ps[2], "h"), .afterMirror(.booked(free: 4)))
    }

    // MARK: PROVIDER (capacity)

    func testCapacityBelowBookedIsError() {
        let p = provider(capacity: 3)
        _ = book(p, "a")
        _ = book(p, "b")
        _ = drainWrites(p)
        XCTAssertEqual(setCapacity(p, 1), .now(.error("ERR capacity below booked seats")))
        XCTAssertEqual(seats(p).capacity, 3)
        XCTAssertEqual(drainWrites(p), [])
        XCTAssertEqual(setCapacity(p, 2), .afterMirror(.ok))
        XCTAssertEqual(drainWrites(p), [.capacity(2)])
        XCTAssertEqual(p.seats().free, 0)
    }

    func testCapacityIncreasePromotesWaiters() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        for name in ["w1", "w2", "w3"] { _ = book(p, name, wait: true) }
        _ = drainWrites(p)
        XCTAssertEqual(setCapacity(p, 3), .afterMirror(.ok))
        XCTAssertEqual(
            drainWrites(p),
            [
                .capacity(3), .book(holder: "w1"), .dequeue(holder: "w1"),
                .book(holder: "w2"), .dequeue(holder: "w2"),
            ])
        XCTAssertEqual(p.status(of: "w2"), .bookedStatus)
        XCTAssertEqual(p.status(of: "w3"), .waiting(position: 1))
        XCTAssertEqual(seats(p), SeatsSnapshot(capacity: 3, booked: 3, waiting: 1, refused: 0))
    }

    // MARK: Mirror down

    func testMirrorDownChangesNothing() {
        makeTable(holderLimit: 5)
        let p = provider(capacity: 2)
        _ = book(p, "a")
        _ = drainWrites(p)
        let before = seats(p)
        XCTAssertEqual(book(p, "b", mirrorUp: false), .now(.unavailable))
        XCTAssertEqual(book(p, "a", mirrorUp: false), .now(.unavailable))
        XCTAssertEqual(cancel(p, "a", mirrorUp: false), .now(.unavailable))
        XCTAssertEqual(setCapacity(p, 5, mirrorUp: false), .now(.unavailable))
        XCTAssertEqual(seats(p), before)
        XCTAssertEqual(p.status(of: "a"), .bookedStatus)
        XCTAssertEqual(p.status(of: "b"), Reply.none)
        XCTAssertEqual(table.rules.limits.seats(of: "a"), 1)
        XCTAssertEqual(table.rules.limits.seats(of: "b"), 0)
        XCTAssertEqual(drainWrites(p), [])
        XCTAssertEqual(Reply.unavailable, .error("UNAVAILABLE mirror down, retry"))
    }

    func testMirrorDownWaitAndFull() {
        let p = provider(capacity: 1)
        _ = book(p, "a")
        _ = drainWrites(p)
        XCTAssertEqual(book(p, "w", wait: true, mirrorUp: false), .now(.unavailable))
        XCTAssertEqual(seats(p).waiting, 0)
        // A sold-out provider answers FULL from memory, mirror or not.
        XCTAssertEqual(book(p, "x", mirrorUp: false), .now(.full(provider: "P")))
        XCTAssertEqual(drainWrites(p), [])
    }

    // MARK: Recovery

    func testRestoreSettlesBookedAndWaitingAndFillsSeats() {
        let p = provider(capacity: 1)
        let writes = p.restore(
            capacity: 3, holders: ["a", "b"],
            waiting: [(holder: "a", score: 5), (holder: "c", score: 6), (holder: "d", score: 7)],
            rules: table.rules)
        XCTAssertEqual(
            writes.map(\.op).filter { !$0.isAudit },
            [.dequeue(holder: "a"), .book(holder: "c"), .dequeue(holder: "c")])
        XCTAssertEqual(p.status(of: "a"), .bookedStatus)
        XCTAssertEqual(p.status(of: "c"), .bookedStatus)
        XCTAssertEqual(p.status(of: "d"), .waiting(position: 1))
        XCTAssertEqual(seats(p), SeatsSnapshot(capacity: 3, booked: 3, waiting: 1, refused: 0))
        XCTAssertEqual(p.seats().free, 0)
        // New waiters score above everything already in Redis.
        XCTAssertEqual(book(p, "e", wait: true), .afterMirror(.waiting(position: 2)))
        XCTAssertEqual(drainWrites(p), [.enqueue(holder: "e", score: 8)])
    }

    func testRestoreCountsHolderLimits() {
        makeTable(holderLimit: 1)
        let p = provider(capacity: 0)
        _ = p.restore(capacity: 2, holders: ["a"], waiting: [], rules: table.rules)
        XCTAssertEqual(table.rules.limits.seats(of: "a"), 1)
        XCTAssertEqual(seats(p).free, 1)
    }

    // MARK: Concurrency

    func testConcurrentBookingNeverOversells() {
        let p = provider(capacity: 1_000)
        let rules = table.rules
        let booked = Atomic<Int>(0)
        let full = Atomic<Int>(0)
        let other = Atomic<Int>(0)
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for index in stride(from: thread, to: 20_000, by: 8) {
                switch p.book("h\(index)", wait: false, rules: rules, mirrorUp: true, ticket: nil) {
                case .afterMirror(.booked): booked.add(1, ordering: .relaxed)
                case .now(.full): full.add(1, ordering: .relaxed)
                default: other.add(1, ordering: .relaxed)
                }
            }
        }
        XCTAssertEqual(booked.load(ordering: .relaxed), 1_000)
        XCTAssertEqual(full.load(ordering: .relaxed), 19_000)
        XCTAssertEqual(other.load(ordering: .relaxed), 0)
        XCTAssertEqual(seats(p).booked, 1_000)
        XCTAssertEqual(seats(p).free, 0)
        XCTAssertEqual(seats(p).refused, 19_000)
        XCTAssertEqual(p.seats().free, 0)
        let writes = drainWrites(p)
        XCTAssertEqual(writes.count, 1_000)
        XCTAssertEqual(
            Set(
                writes.map { op -> String in
                    guard case .book(let holder) = op else { return "?" }
                    return holder
                }
            ).count, 1_000)
    }

    func testConcurrentHolderLimitNeverExceeded() {
        makeTable(holderLimit: 2)
        let providers = (0..<10).map { provider("P\($0)", capacity: 500) }
        let holders = (0..<500).map { "h\($0)" }
        let rules = table.rules
        DispatchQueue.concurrentPerform(iterations: 8) { thread in
            for (offset, holder) in holders.enumerated() {
                for step in 0..<providers.count {
                    // Each thread walks the providers in its own order.
                    let target = providers[
                        (step * (thread % 2 == 0 ? 1 : 3) + thread + offset) % providers.count]
                    _ = target.book(holder, wait: false, rules: rules, mirrorUp: true, ticket: nil)
                }
            }
        }
        for holder in holders {
            let held = providers.filter { $0.status(of: holder) == .bookedStatus }.count
            XCTAssertLessThanOrEqual(held, 2, holder)
            XCTAssertEqual(held, 2, "with seats to spare every holder reaches the limit: \(holder)")
            XCTAssertEqual(rules.limits.seats(of: holder), held, holder)
        }
        XCTAssertEqual(providers.reduce(0) { $0 + $1.seats().booked }, 1_000)
    }

    /// Each change is followed by its audit entry; a retried BOOK (a fact written again) adds
    /// none; a promotion is `book` then `unwait`.
    func testAuditEntriesFollowTheirChanges() {
        let p = provider("P", capacity: 1)
        _ = drainAll(p)
        XCTAssertEqual(book(p, "a"), .afterMirror(.booked(free: 0)))
        XCTAssertEqual(book(p, "a"), .afterMirror(.booked(free: 0)))
        XCTAssertEqual(book(p, "w", wait: true), .afterMirror(.waiting(position: 1)))
        XCTAssertEqual(cancel(p, "a"), .afterMirror(.cancelled(free: 0)))
        XCTAssertEqual(
            drainAll(p),
            [
                .book(holder: "a"), .audit(.book, holder: "a", cause: nil),
                .book(holder: "a"),
                .enqueue(holder: "w", score: 0), .audit(.wait, holder: "w", cause: nil),
                .unbook(holder: "a"), .audit(.unbook, holder: "a", cause: nil),
                .book(holder: "w"), .audit(.book, holder: "w", cause: nil), .dequeue(holder: "w"),
                .audit(.unwait, holder: "w", cause: nil),
            ])
    }
}
