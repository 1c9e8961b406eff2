import XCTest
@testable import KezekCore

/// The offers' clock: entries come out earliest first once due, and one put off (an offer of a
/// round still being drawn) waits until a draw ends, and keeps its offer's expiry.
final class OfferClockTests: XCTestCase {
    private let provider = Provider(id: "P", owner: 0, outbox: MirrorOutbox(), capacity: 10)

    func testDueEntriesComeOutEarliestFirst() {
        let clock = OfferClock()
        for (holder, expiry) in [("c", 300), ("a", 100), ("d", 400), ("b", 200)] {
            clock.add(expiresAt: expiry, provider: provider, holder: holder)
        }
        XCTAssertEqual(clock.takeDue(now: 99).map(\.holder), [])
        XCTAssertEqual(clock.takeDue(now: 250).map(\.holder), ["a", "b"])
        XCTAssertEqual(clock.takeDue(now: 1_000).map(\.holder), ["c", "d"])
    }

    /// Before the fix a put-off entry went back with its own expiry and was due at once: the
    /// clock handed every offer of a long draw back on every tick.
    func testAParkedEntryWaitsForUnparkAndKeepsItsExpiry() {
        let clock = OfferClock()
        clock.add(expiresAt: 100, provider: provider, holder: "h")
        clock.add(expiresAt: 5_000, provider: provider, holder: "later")
        let due = clock.takeDue(now: 150)
        XCTAssertEqual(due.map(\.holder), ["h"])
        clock.park(due[0])
        XCTAssertEqual(clock.takeDue(now: 151).count, 0)
        XCTAssertEqual(clock.takeDue(now: 4_000).count, 0)
        clock.unpark(now: 4_001)
        let again = clock.takeDue(now: 4_001)
        XCTAssertEqual(again.map(\.holder), ["h"])
        XCTAssertEqual(again.first?.expiresAt, 100)
        XCTAssertEqual(clock.takeDue(now: 5_000).map(\.holder), ["later"])
    }
}
