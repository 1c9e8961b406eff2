import XCTest
@testable import KezekCore

/// A loop thread's provider cache finds each provider by the bytes of its id, through
/// growth and hash collisions, and never finds one that does not exist.
final class ProviderCacheTests: XCTestCase {
    private let table = SeatTable(
        outboxes: [MirrorOutbox()],
        rules: Provider.BookingRules(waitlistLimit: 10, limits: HolderLimits(limit: 0)))

    private func lookUp(_ cache: ProviderCache, _ id: String) -> Provider? {
        Array(id.utf8).withUnsafeBytes { bytes in cache.withProvider(bytes) { $0 } } ?? nil
    }

    func testEveryProviderIsFoundByItsBytesAcrossGrowth() {
        let ids = (0..<1_000).map { "club.\($0)" } + ["a", "ab", "abc", "b"]
        for id in ids { _ = table.providerCreatingIfNeeded(id, capacity: 1) }
        let cache = ProviderCache(table: table)
        for _ in 0..<2 {  // the first pass fills the cache (and grows it), the second reads it
            for id in ids {
                XCTAssertTrue(lookUp(cache, id) === table.provider(id), id)
                XCTAssertTrue(cache.provider(id) === table.provider(id), id)
            }
        }
        XCTAssertNil(lookUp(cache, "club.1000"))
        XCTAssertNil(lookUp(cache, "club."), "a prefix of a known id is another id")
        XCTAssertNil(lookUp(cache, "club.10000"), "so is an extension of one")
    }

    func testAnIdHashesTheSameAsAStringAndAsTheRequestsBytes() {
        for id in ["a", "club.7", "Almaty.Bostandyk.42"] {
            let fromBytes = Array(id.utf8).withUnsafeBytes { SeatTable.stableHash($0) }
            XCTAssertEqual(fromBytes, SeatTable.stableHash(id), id)
        }
        XCTAssertEqual(SeatTable.stableHash("a"), 0xaf63_dc4c_8601_ec8c, "FNV-1a 64 of \"a\"")
    }

    func testAProviderMadeAfterAMissIsFound() {
        let cache = ProviderCache(table: table)
        XCTAssertNil(lookUp(cache, "late"))
        let (late, _) = table.providerCreatingIfNeeded("late", capacity: 1)
        XCTAssertTrue(lookUp(cache, "late") === late)
    }

    /// Ids that differ only before a long common suffix (a gateway's domain, a load test's run
    /// tag), or only in their first bytes, still spread over every stripe evenly.
    func testHoldersSharingALongSuffixSpreadOverEveryStripe() {
        let families: [(String, (Int) -> String)] = [
            ("a common suffix", { "child-\($0)@school-7.almaty.kz" }),
            ("a run tag", { "a:\($0).ra57907" }),
            ("digits only", { String(870_101_300_000 + 7 * $0) }),
            ("a short id", { "h\($0)" }),
        ]
        for (family, id) in families {
            var counts = Array(repeating: 0, count: HolderStripes.count)
            for index in 0..<8_000 { counts[HolderTable.stripe(of: id(index))] += 1 }
            let even = 8_000 / HolderStripes.count
            XCTAssertTrue(
                counts.allSatisfy { abs($0 - even) < even / 5 }, "\(family): \(counts)")
        }
    }

    func testTheHolderTableInsertsOnlyAnAbsentHolderAndOnlyWhenAsked() {
        let holders = HolderTable()
        defer { holders.deallocate() }
        let stripe = HolderTable.stripe(of: "h")
        holders.insertIfAbsent(stripe: stripe, holder: "h") { nil }
        XCTAssertNil(holders["h"], "nothing made, nothing inserted")
        holders.insertIfAbsent(stripe: stripe, holder: "h") { 7 }
        XCTAssertEqual(holders["h"], 7)
        var asked = false
        holders.insertIfAbsent(stripe: stripe, holder: "h") {
            asked = true
            return 9
        }
        XCTAssertFalse(asked, "a holder with an entry is not asked again")
        XCTAssertEqual(holders["h"], 7)
    }
}
