import XCTest
@testable import KezekCore

/// How a provider's round tags are read back (RoundTagFields): a holder's own field overrides
/// its entry in a draw's part, "-" masks it, and anything else is told and left out.
final class RoundTagFieldsTests: XCTestCase {
    func testOwnFieldsOverrideAndMaskPartEntries() {
        var bad: [String] = []
        let decoded = RoundTagFields.decode([
            ("#r1", "ann 1 bob 2 cat 3"),
            ("bob", "-"),
            ("cat", "r2 1"),
            ("dan", "r2 4"),
            ("#r:bad!", "eve 1"),
            ("fay", "not a tag"),
            ("#r3", "odd"),
        ]) { bad.append($0) }
        XCTAssertEqual(
            decoded.tags,
            [
                "ann": RoundTag(round: "r1", rank: 1), "cat": RoundTag(round: "r2", rank: 1),
                "dan": RoundTag(round: "r2", rank: 4),
            ])
        XCTAssertEqual(decoded.ownFields, ["bob", "cat", "dan"])
        XCTAssertEqual(Set(bad), ["#r:bad!", "fay", "#r3"])
    }

    func testPartValueRoundTrips() {
        let value = RoundTagFields.partValue([("a", 1), ("b.c", 20)])
        XCTAssertEqual(value, "a 1 b.c 20")
        let decoded = RoundTagFields.decode([(RoundTagFields.partField(round: "r"), value)]) { _ in
            XCTFail("bad")
        }
        XCTAssertEqual(
            decoded.tags,
            ["a": RoundTag(round: "r", rank: 1), "b.c": RoundTag(round: "r", rank: 20)])
        XCTAssertEqual(decoded.ownFields, [])
    }

    /// A draw's places field names holders scored from its first score on; a mask at or above
    /// a place's score hides it, one below does not (a later place of the same holder); the
    /// highest score is the largest any field names. Tags ignore these fields.
    func testDrawnPlacesMasksAndHighestScore() {
        var bad: [String] = []
        let pairs: [(field: String, value: String)] = [
            (RoundTagFields.placesField(first: 10), "ann bob cat"),
            (RoundTagFields.placesField(first: 40), "bob dan"),
            (RoundTagFields.maskField(holder: "bob"), "35"),
            (RoundTagFields.maskField(holder: "cat"), "12"),
            (RoundTagFields.highestScoreField, "38"),
            ("~x", "eve"), ("!fay", "soon"), ("~50", "ok bad!id also!bad"),
            ("#r1", "ann 1"),
        ]
        let drawn = RoundTagFields.drawnPlaces(pairs) { bad.append($0) }
        XCTAssertEqual(drawn.places.map(\.holder), ["ann", "bob", "dan", "ok"])
        XCTAssertEqual(drawn.places.map(\.score), [10, 40, 41, 50])
        XCTAssertEqual(drawn.highest, 50)
        XCTAssertTrue(drawn.found)
        XCTAssertEqual(bad.sorted(), ["!fay", "~50", "~x"], "one line per bad field")
        let tags = RoundTagFields.decode(pairs) { XCTFail("bad tag \($0)") }
        XCTAssertEqual(tags.tags, ["ann": RoundTag(round: "r1", rank: 1)])
        XCTAssertEqual(tags.ownFields, [])
    }

    /// The sorted set wins for a holder in both; the rest go in score order, or, when the
    /// sorted set's scores were unusable, after its members in its order.
    func testMergedWaitlist() {
        let sortedSet = [(holder: "a", score: 5), (holder: "b", score: 20)]
        let drawn = [(holder: "b", score: 12), (holder: "c", score: 10), (holder: "d", score: 30)]
        let merged = Recovery.merged(sortedSet, drawn, rescore: false)
        XCTAssertEqual(merged.map(\.holder), ["a", "c", "b", "d"])
        XCTAssertEqual(merged.map(\.score), [5, 10, 20, 30])
        let rescored = Recovery.merged([("a", 0), ("b", 0)], drawn, rescore: true)
        XCTAssertEqual(rescored.map(\.holder), ["a", "b", "c", "d"])
    }
}
