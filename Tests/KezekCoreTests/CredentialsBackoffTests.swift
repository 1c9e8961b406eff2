import XCTest
@testable import KezekCore

/// While Redis refuses the credentials, every connection retries at the end of the current
/// step and the daemon logs once per step; steps double from 1 s up to the cap.
final class CredentialsBackoffTests: XCTestCase {
    private let second: UInt64 = 1_000_000_000

    func testOneLogLinePerStepWhateverTheConnectionsRetrying() {
        let backoff = CredentialsBackoff(maxSeconds: 4)
        XCTAssertFalse(backoff.isRefusing)
        var logged: [UInt64] = []
        // Three connections (two loops and the lease keeper) each retrying when told, for 20 s.
        var nextTry: [UInt64] = [0, second / 10, second / 5]
        while let index = nextTry.indices.min(by: { nextTry[$0] < nextTry[$1] }),
            nextTry[index] < 20 * second
        {
            let now = nextTry[index]
            let (retry, log) = backoff.refused(now: now)
            if log { logged.append(now) }
            XCTAssertGreaterThan(retry, 0)
            nextTry[index] = now + retry
        }
        // Steps of 1, 2, 4, 4, 4 … s: logged at 0, 1, 3, 7, 11, 15, 19 s.
        XCTAssertEqual(logged.map { $0 / second }, [0, 1, 3, 7, 11, 15, 19])
        XCTAssertTrue(backoff.isRefusing)
        XCTAssertTrue(backoff.accepted(), "the first acceptance ends the refusal")
        XCTAssertFalse(backoff.accepted(), "the others have nothing to report")
        XCTAssertEqual(
            backoff.refused(now: 30 * second).retryNanos, second,
            "a new refusal starts from the first step")
    }
}
