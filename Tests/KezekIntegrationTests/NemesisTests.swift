import Foundation
import XCTest

/// A short nemesis run (kezek-bench nemesis, about a minute): every fault class may come, the
/// history must be linearizable and every invariant hold (docs/RELIABILITY.md). A failure
/// prints the anomalies and the seed that replays the run.
final class NemesisTests: XCTestCase {
    func testShortMixedFaultRunFindsNoAnomaly() throws {
        let seconds = ProcessInfo.processInfo.environment["NEMESIS_SECONDS"] ?? "50"
        let result = try runProgram(
            builtProgram("kezek-bench"),
            [
                "nemesis", "--seconds", seconds, "--clients", "8", "--kezekd",
                KezekdProcess.binaryPath,
                "--kezek-audit", builtProgram("kezek-audit"),
            ],
            timeout: Double(seconds)! + 240)
        print(
            result.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }.suffix(12).joined(
                separator: "\n"))
        XCTAssertEqual(
            result.status, 0,
            "nemesis found anomalies:\n\(result.stdout.suffix(6000))\n\(result.stderr.suffix(2000))"
        )
        XCTAssertTrue(result.stdout.contains("nemesis: no anomaly"))
    }
}
