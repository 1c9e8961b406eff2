import XCTest
@testable import KezekCore

final class BookedBatchesTests: XCTestCase {
    private func booked(
        set: [String] = [], _ pairs: [(String, String)], bad: inout [String]
    ) -> [String] {
        BookedBatches.booked(set: set, batches: pairs.map { (field: $0.0, value: $0.1) }) {
            bad.append($0)
        }
    }

    func testIDsSortAsTheWritesWereMade() {
        let ids = ["1.9.3", "2.0.0", "1.10.0", "2.0.11", "2.0.2"].map { BookedBatches.ID($0[...])! }
        XCTAssertEqual(ids.sorted().map(\.text), ["1.9.3", "1.10.0", "2.0.0", "2.0.2", "2.0.11"])
        for text in ["", "1.2", "1.2.3.4", "a.1.2", "1..2", "-1.0.0", "1.2.3 "] {
            XCTAssertNil(BookedBatches.ID(text[...]), text)
        }
    }

    /// A field's holders are booked unless masked later; a booking after the mask counts again;
    /// a retried booking names a holder twice; the set's members always count; each holder
    /// once, in the order read.
    func testFieldsMasksAndTheSet() {
        var bad: [String] = []
        let result = booked(
            set: ["s1", "b"],
            [
                ("1.1.0", "a b c"), ("!a", "1.2.1"), ("1.3.0", "d"), ("!c", "1.3.2"),
                ("1.4.0", "c d"), ("!d", "1.2.0"), ("1.5.0", "b"),
            ], bad: &bad)
        XCTAssertEqual(result, ["s1", "b", "c", "d"])
        XCTAssertEqual(bad, [])
    }

    /// A mask and a field of the same id cannot both be made; a mask of an earlier epoch does
    /// not hide a later epoch's booking, whatever its sequence.
    func testALaterEpochWins() {
        var bad: [String] = []
        let result = booked(
            [("!a", "3.900.0"), ("4.1.0", "a"), ("!b", "4.1.1"), ("3.950.0", "b")],
            bad: &bad)
        XCTAssertEqual(result, ["a"])
    }

    /// Bad fields are told once each and left out; good fields around them still count.
    func testBadFieldsAreToldOnceEach() {
        var bad: [String] = []
        let result = booked(
            [
                ("1.1.0", "a b?c d! e"), ("x.1.0", "f"), ("!g", "not an id"), ("!bad id", "1.1.1"),
                ("1.2.0", "g"),
            ], bad: &bad)
        XCTAssertEqual(result, ["a", "e", "g"])
        XCTAssertEqual(bad.sorted(), ["!bad id", "!g", "1.1.0", "x.1.0"])
    }

    func testNoFieldsIsTheSet() {
        var bad: [String] = []
        XCTAssertEqual(booked(set: ["a", "b"], [], bad: &bad), ["a", "b"])
    }

    /// A run in the log: `><entry> <first> <count>` parses, and names the holders of changes
    /// first…first+count-1 of the entry; anything that is not a `book` there is refused.
    func testARunInTheLogIsReadFromItsEntry() {
        XCTAssertNil(BookedBatches.LogPlace("1-0 0 2"))
        XCTAssertNil(BookedBatches.LogPlace(">1-0 0 0"))
        XCTAssertNil(BookedBatches.LogPlace(">1-0 x 2"))
        XCTAssertTrue(BookedBatches.LogPlace.isMeant(">oops"))
        let place = BookedBatches.LogPlace(">17-0 1 2")
        XCTAssertEqual(place?.entry, "17-0")
        let entry = [
            "epoch", "3", "seq", "9", "book", "P a", "book", "Q b", "book", "Q c r1 2", "wait",
            "Q d",
        ]
        XCTAssertEqual(place?.holders(inEntry: entry, provider: "Q"), "b c")
        XCTAssertNil(place?.holders(inEntry: entry, provider: "P"), "another provider's")
        XCTAssertNil(
            BookedBatches.LogPlace(">17-0 2 2")?.holders(inEntry: entry, provider: "Q"),
            "a wait is not a booking")
        XCTAssertNil(
            BookedBatches.LogPlace(">17-0 3 2")?.holders(inEntry: entry, provider: "Q"),
            "past the entry's end")
    }
}
