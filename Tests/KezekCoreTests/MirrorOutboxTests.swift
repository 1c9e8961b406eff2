import XCTest
@testable import KezekCore
import KezekTestSupport

/// The owner's outbox passes each provider's writes on in their number order, whichever
/// lane (thread) queued them and in whatever order they arrived.
final class MirrorOutboxTests: XCTestCase {
    private let outbox = MirrorOutbox()
    private lazy var provider = Provider(id: "P", owner: 0, outbox: outbox, capacity: 10)
    private lazy var other = Provider(id: "Q", owner: 0, outbox: outbox, capacity: 10)

    private func write(_ op: MirrorOp, _ number: Int, of p: Provider? = nil) -> MirrorWrite {
        var write = MirrorWrite(provider: p ?? provider, op: op, ticket: nil, madeAt: 0)
        write.number = number
        return write
    }

    private func append(_ made: MirrorWrite) {
        var made = made
        outbox.append(moving: &made)
    }

    private func drain() -> [String] {
        var writes: [MirrorWrite] = []
        outbox.drain(into: &writes)
        return writes.map { "\($0.provider.id)\($0.number)" + (($0.op == .barrier) ? "b" : "") }
    }

    func testAWriteWaitsForTheOneNumberedBeforeIt() {
        append(write(.book(holder: "b"), 2))
        append(write(.barrier, 2))
        append(write(.refused(3), 0))
        append(write(.book(holder: "x"), 1, of: other))
        // One thread appends P's 2 before P's 1 here, as two threads sharing a lane can.
        XCTAssertEqual(
            Set(drain()), ["P0", "Q1"],
            "unnumbered and in-order writes go; P's 2 and its barrier wait for P's 1")
        XCTAssertTrue(outbox.isHoldingWrites)
        append(write(.book(holder: "a"), 1))
        XCTAssertEqual(drain(), ["P1", "P2", "P2b"])
        XCTAssertFalse(outbox.isHoldingWrites)
    }

    func testLanesOfSeveralThreadsAreMergedInNumberOrder() {
        // Four threads append interleaved numbers of one provider; the drains in between see
        // gaps; in the end every write went on exactly once, in order.
        let total = 40_000
        let next = Locked<Int>(0)
        var passed: [Int] = []
        let done = Locked<Int>(0)
        let outbox = self.outbox
        let provider = self.provider
        DispatchQueue.global().async {
            runConcurrently(4) { _ in
                while true {
                    var number = 0
                    next.withLock { value in
                        value += 1
                        number = value
                    }
                    guard number <= total else { break }
                    var write = MirrorWrite(
                        provider: provider, op: .book(holder: "h\(number)"), ticket: nil, madeAt: 0)
                    write.number = number
                    outbox.append(moving: &write)
                }
            }
            done.set(1)
        }
        var writes: [MirrorWrite] = []
        while passed.count < total {
            let finished = done.current == 1
            outbox.drain(into: &writes)
            passed += writes.map(\.number)
            writes.removeAll()
            if finished && passed.count < total {
                outbox.drain(into: &writes)
                passed += writes.map(\.number)
                break
            }
        }
        XCTAssertEqual(passed, Array(1...total))
    }
}
