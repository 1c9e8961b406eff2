import Foundation
import XCTest

/// A client that sends without reading its replies must not grow the daemon's memory: its
/// reads pause once its queued replies pass the limits, and nothing is lost when it reads.
final class BackpressureTests: IntegrationTestCase {
    func testClientThatDoesNotReadIsPausedAndLosesNothing() throws {
        try startStack(["--max-output-bytes", "65536", "--max-pending-replies", "256"])
        let pid = try XCTUnwrap(kezekd.process?.processIdentifier)
        let rssBefore = try residentKilobytes(pid)
        let client = try connect()
        let requests = 1_000_000
        let line = "SEATS-NOPE\r\n"  // unknown command: a reply of ~35 bytes each, from memory
        let payload = String(repeating: line, count: requests)

        // The sender blocks once kezekd stops reading; it finishes when we read below.
        let sent = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? client.send(payload, timeout: 60)
            sent.signal()
        }
        let paused = poll(timeout: 10) { () -> Bool? in
            let metrics = try? adminGet(port: self.kezekd.adminPort, path: "/metrics").body
            return metrics?.contains("kezek_backpressure_pauses_total 0") == false ? true : nil
        }
        XCTAssertEqual(paused, true, "reads were never paused")
        let rssPaused = try residentKilobytes(pid)
        XCTAssertLessThan(rssPaused - rssBefore, 16 * 1024, "kezekd grew by \(rssPaused - rssBefore) kB for one slow client")

        var received = 0
        while received < requests {
            let reply = try client.readLine(timeout: 30)
            XCTAssertEqual(reply, "-ERR unknown command 'SEATS-NOPE'")
            received += 1
        }
        XCTAssertEqual(sent.wait(timeout: .now() + 30), .success)
        try expect(client, "PING", "+PONG")
    }

    private func residentKilobytes(_ pid: Int32) throws -> Int {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
        return try XCTUnwrap(Int(line.split(separator: " ").dropFirst().first ?? ""))
    }
}
