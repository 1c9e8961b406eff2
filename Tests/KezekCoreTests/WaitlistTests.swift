import XCTest
@testable import KezekCore
import KezekTestSupport

final class WaitlistTests: XCTestCase {
    private func waitlist(_ holders: [String]) -> Waitlist {
        var list = Waitlist()
        for holder in holders { list.append(holder) }
        return list
    }

    private func assertPositions(
        _ list: Waitlist, _ expected: [String], file: StaticString = #filePath, line: UInt = #line
    ) {
        XCTAssertEqual(list.holders, expected, file: file, line: line)
        XCTAssertEqual(list.count, expected.count, file: file, line: line)
        XCTAssertEqual(list.isEmpty, expected.isEmpty, file: file, line: line)
        for (index, holder) in expected.enumerated() {
            XCTAssertEqual(
                list.position(of: holder), index + 1, "position of \(holder)", file: file,
                line: line)
        }
    }

    func testEmpty() {
        var list = Waitlist()
        XCTAssertTrue(list.isEmpty)
        XCTAssertNil(list.popFirst())
        XCTAssertNil(list.position(of: "a"))
        XCTAssertFalse(list.remove("a"))
        XCTAssertEqual(list.holders, [])
    }

    func testPositionsOneToN() {
        let list = waitlist(["a", "b", "c", "d"])
        assertPositions(list, ["a", "b", "c", "d"])
        XCTAssertTrue(list.contains("c"))
        XCTAssertFalse(list.contains("z"))
        XCTAssertNil(list.position(of: "z"))
    }

    func testAppendReturnsConsecutiveTickets() {
        var list = Waitlist()
        XCTAssertEqual(list.append("a"), 0)
        XCTAssertEqual(list.append("b"), 1)
        XCTAssertEqual(list.nextTicket, 2)
    }

    func testRemoveFromMiddleShiftsLaterHolders() {
        var list = waitlist(["a", "b", "c", "d", "e"])
        XCTAssertTrue(list.remove("c"))
        assertPositions(list, ["a", "b", "d", "e"])
        XCTAssertFalse(list.contains("c"))
        XCTAssertFalse(list.remove("c"))
        XCTAssertTrue(list.remove("b"))
        assertPositions(list, ["a", "d", "e"])
    }

    func testPopFirstOrder() {
        var list = waitlist(["a", "b", "c"])
        XCTAssertEqual(list.popFirst(), "a")
        assertPositions(list, ["b", "c"])
        XCTAssertEqual(list.popFirst(), "b")
        XCTAssertEqual(list.popFirst(), "c")
        XCTAssertNil(list.popFirst())
        assertPositions(list, [])
    }

    func testRemoveHead() {
        var list = waitlist(["a", "b", "c"])
        XCTAssertTrue(list.remove("a"))
        assertPositions(list, ["b", "c"])
        XCTAssertEqual(list.popFirst(), "b")
    }

    func testPopSkipsHoldersRemovedFromMiddle() {
        var list = waitlist(["a", "b", "c", "d"])
        XCTAssertTrue(list.remove("b"))
        XCTAssertTrue(list.remove("c"))
        XCTAssertEqual(list.popFirst(), "a")
        assertPositions(list, ["d"])
        XCTAssertEqual(list.popFirst(), "d")
        XCTAssertNil(list.popFirst())
    }

    func testInterleavedAppendRemovePop() {
        var list = waitlist(["a", "b", "c"])
        XCTAssertTrue(list.remove("b"))
        list.append("d")
        list.append("b")
        assertPositions(list, ["a", "c", "d", "b"])
        XCTAssertEqual(list.popFirst(), "a")
        XCTAssertTrue(list.remove("d"))
        assertPositions(list, ["c", "b"])
        list.append("e")
        XCTAssertTrue(list.remove("c"))
        assertPositions(list, ["b", "e"])
        XCTAssertEqual(list.popFirst(), "b")
        XCTAssertEqual(list.popFirst(), "e")
        assertPositions(list, [])
    }

    func testRejoinAfterRemovalGoesToTheEnd() {
        var list = waitlist(["a", "b", "c"])
        XCTAssertTrue(list.remove("a"))
        list.append("a")
        assertPositions(list, ["b", "c", "a"])
    }

    func testCompactionKeepsPositions() {
        var list = Waitlist()
        var model: [String] = []
        for index in 0..<2_500 {
            list.append("h\(index)")
            model.append("h\(index)")
        }
        // Remove some from the middle, then pop past the compaction threshold.
        for index in stride(from: 1_500, to: 2_500, by: 7) {
            XCTAssertTrue(list.remove("h\(index)"))
            model.removeAll { $0 == "h\(index)" }
        }
        for _ in 0..<1_300 {
            XCTAssertEqual(list.popFirst(), model.removeFirst())
        }
        assertPositions(list, model)
        // Keep going past another compaction while appending.
        for index in 2_500..<4_000 {
            list.append("h\(index)")
            model.append("h\(index)")
            XCTAssertEqual(list.popFirst(), model.removeFirst())
        }
        assertPositions(list, model)
        XCTAssertEqual(list.nextTicket, 4_000)
    }

    func testNextTicketMonotonicAfterEmptying() {
        var list = waitlist(["a", "b", "c"])
        XCTAssertEqual(list.nextTicket, 3)
        XCTAssertTrue(list.remove("b"))
        XCTAssertEqual(list.popFirst(), "a")
        XCTAssertEqual(list.popFirst(), "c")
        XCTAssertTrue(list.isEmpty)
        XCTAssertEqual(list.nextTicket, 3)
        XCTAssertEqual(list.append("d"), 3)
        XCTAssertTrue(list.remove("d"))
        XCTAssertEqual(list.append("e"), 4)
        assertPositions(list, ["e"])
    }

    func testHoldersOrderExcludesRemoved() {
        var list = waitlist(["a", "b", "c", "d"])
        XCTAssertTrue(list.remove("c"))
        list.append("c")
        XCTAssertEqual(list.holders, ["a", "b", "d", "c"])
    }

    /// 10,000 random operations against a plain array; positions and tickets checked each step.
    func testRandomizedAgainstArrayModel() {
        var generator = SplitMix64(seed: 0x4B65_7A65_6B)
        var list = Waitlist()
        var model: [String] = []
        var expectedNextTicket = 0
        let names = (0..<300).map { "h\($0)" }
        for step in 0..<10_000 {
            let roll = Int.random(in: 0..<100, using: &generator)
            if roll < 45 {
                let name = names.randomElement(using: &generator)!
                if !model.contains(name) {
                    XCTAssertEqual(list.append(name), expectedNextTicket, "step \(step)")
                    expectedNextTicket += 1
                    model.append(name)
                }
            } else if roll < 75 {
                let name = names.randomElement(using: &generator)!
                let inModel = model.firstIndex(of: name)
                XCTAssertEqual(list.remove(name), inModel != nil, "step \(step) remove \(name)")
                if let inModel { model.remove(at: inModel) }
            } else {
                XCTAssertEqual(list.popFirst(), model.first, "step \(step) pop")
                if !model.isEmpty { model.removeFirst() }
            }
            XCTAssertEqual(list.count, model.count, "step \(step)")
            XCTAssertEqual(list.nextTicket, expectedNextTicket, "step \(step)")
            for (index, holder) in model.enumerated() where list.position(of: holder) != index + 1 {
                XCTFail(
                    "step \(step): \(holder) at \(String(describing: list.position(of: holder))), model \(index + 1)"
                )
                return
            }
            if step % 97 == 0 {
                XCTAssertEqual(list.holders, model, "step \(step)")
            }
        }
        XCTAssertEqual(list.holders, model)
    }

    /// The same with a long queue, so that compaction runs in the middle of random removals.
    func testRandomizedLongQueueAgainstArrayModel() {
        var generator = SplitMix64(seed: 7)
        var list = Waitlist()
        var model: [String] = []
        var serial = 0
        for step in 0..<10_000 {
            let roll = Int.random(in: 0..<100, using: &generator)
            if roll < 50 || model.count < 1_500 {
                list.append("n\(serial)")
                model.append("n\(serial)")
                serial += 1
            } else if roll < 65, let name = model.randomElement(using: &generator) {
                XCTAssertTrue(list.remove(name))
                model.removeAll { $0 == name }
            } else {
                XCTAssertEqual(list.popFirst(), model.first, "step \(step)")
                if !model.isEmpty { model.removeFirst() }
            }
            if step % 50 == 0 {
                for (index, holder) in model.enumerated()
                where list.position(of: holder) != index + 1 {
                    XCTFail(
                        "step \(step): \(holder) at \(String(describing: list.position(of: holder))), model \(index + 1)"
                    )
                    return
                }
            }
        }
        XCTAssertEqual(list.holders, model)
    }

    /// Issue 8, finding 3: with a stuck head, holders joining and leaving behind it grew the
    /// queue by one entry per cycle and made the next removal O(cycles). Slots stay within
    /// twice the live holders (plus a little slack) however many cycles pass.
    func testStuckHeadWithChurnKeepsMemoryProportionalToLiveHolders() {
        var list = waitlist(["stuck", "second"])
        for cycle in 0..<100_000 {
            list.append("c\(cycle)")
            XCTAssertTrue(list.remove("c\(cycle)"))
            if cycle % 1_000 == 0 {
                XCTAssertLessThanOrEqual(
                    list.slotCount, 2 * list.count + Waitlist.packingSlack + 1,
                    "after \(cycle) cycles")
            }
        }
        XCTAssertLessThanOrEqual(list.slotCount, 2 * list.count + Waitlist.packingSlack + 1)
        XCTAssertEqual(list.nextTicket, 100_002, "tickets keep growing: they are Redis scores")
        XCTAssertTrue(list.remove("second"))
        list.append("late")
        assertPositions(list, ["stuck", "late"])
        XCTAssertEqual(list.popFirst(), "stuck")
        assertPositions(list, ["late"])
    }
}
