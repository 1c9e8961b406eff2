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
}
