import XCTest

@testable import KezekCore

/// A standby's reads bracketed by the log's position: each logged change applies to what was
/// read exactly once (WarmStandby).
final class LogReadWindowsTests: XCTestCase {
    private func step(_ epoch: Int, _ seq: Int) -> LogPosition {
        LogPosition(epoch: epoch, seq: seq)
    }

    func testStepsOrderByEpochThenSeq() {
        XCTAssertLessThan(step(1, 9), step(1, 10))
        XCTAssertLessThan(step(1, 900), step(2, 1))
        XCTAssertEqual(step(3, 4), step(3, 4))
    }

    func testAChangeBeforeTheReadIsSkippedOneDuringItRereadsOneAfterItApplies() {
        var windows = LogReadWindows()
        windows.note(["a", "b", "c"], .init(before: step(2, 10), after: step(2, 12)))
        XCTAssertEqual(windows.verdict(for: "a", at: step(2, 9)), .read)
        XCTAssertEqual(windows.verdict(for: "a", at: step(2, 10)), .read)
        XCTAssertEqual(windows.verdict(for: "a", at: step(2, 11)), .torn)
        XCTAssertEqual(windows.verdict(for: "b", at: step(2, 12)), .torn)
        XCTAssertEqual(windows.verdict(for: "c", at: step(2, 13)), .after)
        XCTAssertEqual(windows.verdict(for: "c", at: step(2, 5)), .after, "the window is spent")
        XCTAssertEqual(windows.verdict(for: "unread", at: step(1, 1)), .after)
    }

    func testAReadAgainReplacesTheProvidersWindow() {
        var windows = LogReadWindows()
        windows.note(["a"], .init(before: step(1, 5), after: step(1, 6)))
        windows.note(["a"], .init(before: step(1, 20), after: step(1, 20)))
        XCTAssertEqual(windows.verdict(for: "a", at: step(1, 6)), .read)
        XCTAssertEqual(windows.verdict(for: "a", at: step(1, 21)), .after)
    }

    func testWindowsAreForgottenOnceTheLogIsFollowedPastThemAll() {
        var windows = LogReadWindows()
        windows.note(["a"], .init(before: step(1, 5), after: step(1, 8)))
        windows.note(["b"], .init(before: step(1, 9), after: step(1, 12)))
        windows.followed(to: step(1, 11))
        XCTAssertEqual(windows.verdict(for: "b", at: step(1, 9)), .read, "b's window is kept")
        windows.followed(to: step(1, 12))
        XCTAssertEqual(windows.verdict(for: "a", at: step(1, 3)), .after)
    }
}
