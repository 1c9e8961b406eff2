import XCTest

@testable import KezekCore

/// A repeating warning is logged at the first time, then once per interval at most.
final class OncePerTests: XCTestCase {
    func testDueFirstThenOncePerInterval() {
        var warning = OncePer(seconds: 10)
        let start: UInt64 = 5_000_000_000
        XCTAssertTrue(warning.due(now: start))
        XCTAssertFalse(warning.due(now: start + 1))
        XCTAssertFalse(warning.due(now: start + 9_999_999_999))
        XCTAssertTrue(warning.due(now: start + 10_000_000_000))
        XCTAssertFalse(warning.due(now: start + 10_000_000_001))
    }
}
