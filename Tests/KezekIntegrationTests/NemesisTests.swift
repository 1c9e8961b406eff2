import Foundation
import XCTest
import KezekTestSupport

/// A short nemesis run (kezek-bench nemesis, about a minute): the history must be linearizable
/// and every invariant hold (docs/RELIABILITY.md). A failure prints the anomalies and the seed
/// that replays the run.
///
/// Every fault class the single-Redis topology has, including the two that leave a deposed
/// holder alive (`sigstop-holder`, `partition-kezekd-redis`): it must answer no read once its
/// lease lapsed (RELIABILITY.md, "Found").
final class NemesisTests: XCTestCase {
    static let faults = [
        "kill9-holder", "kill9-standby", "sigstop-holder", "sigstop-standby", "sigterm-holder", "sigterm-standby",
        "redis-kill9-restart-aof", "redis-restart-empty", "redis-flushall", "redis-maxmemory",
        "partition-kezekd-redis", "delay-kezekd-redis", "reset-kezekd-redis", "partition-clients-kezekd",
        "delay-clients-kezekd", "reset-clients-kezekd", "client-abort",
    ]

    func testShortMixedFaultRunFindsNoAnomaly() throws {
        let seconds = ProcessInfo.processInfo.environment["NEMESIS_SECONDS"] ?? "50"
        let result = try runProgram(
            builtProgram("kezek-bench"),
            [
                "nemesis", "--seconds", seconds, "--clients", "8", "--kezekd",
                KezekdProcess.binaryPath, "--kezek-audit", builtProgram("kezek-audit"),
                "--faults", Self.faults.joined(separator: ","),
            ],
            timeout: Double(seconds)! + 240)
        let summary = result.stdout.split(separator: "\n").filter { !$0.hasPrefix(" ") }
        print(summary.suffix(12).joined(separator: "\n"))
        XCTAssertEqual(
            result.status, 0,
            "nemesis found anomalies:\n\(result.stdout.suffix(6000))\n\(result.stderr.suffix(2000))"
        )
        XCTAssertTrue(result.stdout.contains("nemesis: no anomaly"))
    }
}
