import XCTest
@testable import KezekCore

/// Writes moved between arrays arrive whole and in order, and leave blanks behind; the
/// pending queue built on it hands out every write once, in order, across partial takes.
final class MirrorWriteMovesTests: XCTestCase {
    private let provider = Provider(id: "P", owner: 0, outbox: MirrorOutbox(), capacity: 10)

    private func writes(_ names: [String]) -> [MirrorWrite] {
        names.map { MirrorWrite(provider: provider, op: .book(holder: $0), ticket: nil, madeAt: 1) }
    }

    private func holders(_ writes: some Collection<MirrorWrite>) -> [String] {
        writes.map { $0.op.holder ?? "-" }
    }

    func testAMovedRangeArrivesInOrderAndLeavesBlanks() {
        var target = writes(["a"])
        var source = writes(["b", "c", "d", "e"])
        target.moveAppend(from: &source, 1..<3)
        XCTAssertEqual(holders(target), ["a", "c", "d"])
        XCTAssertEqual(holders(source), ["b", "-", "-", "e"], "moved places hold blank barriers")
        XCTAssertTrue(source[1].op == .barrier && source[1].ticket == nil)
        target.moveAppend(from: &source, 0..<0)
        XCTAssertEqual(target.count, 3, "an empty range moves nothing")
    }

    func testPendingWritesHandsOutEveryWriteOnceInOrder() {
        var pending = PendingWrites()
        var more = writes((0..<10).map { "h\($0)" })
        pending.append(takingFrom: &more)
        XCTAssertTrue(more.isEmpty)
        var taken: [String] = holders(pending.take(3, spare: []))
        more = writes((10..<15).map { "h\($0)" })
        pending.append(takingFrom: &more)  // appended behind a backlog: moved, not copied
        XCTAssertTrue(more.isEmpty)
        taken += holders(pending.take(4, spare: []))
        XCTAssertEqual(holders(pending.writes), (7..<15).map { "h\($0)" })
        taken += holders(pending.take(pending.count, spare: []))
        XCTAssertEqual(taken, (0..<15).map { "h\($0)" })
        XCTAssertTrue(pending.isEmpty)
    }
}
