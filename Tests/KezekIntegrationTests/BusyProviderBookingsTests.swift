import Foundation
import XCTest
import KezekTestSupport

/// A busy provider's bookings reach Redis as a batch's run in one field (`BookedBatches`), which
/// names the run's place in the audit log:
/// cancellations mask them there, bookings after a cancellation count again, and after kill -9
/// and a restart at every step the daemon serves the same holders and Redis holds exactly them.
final class BusyProviderBookingsTests: IntegrationTestCase {
    private var booked = Set<String>()
    private let holders = (0..<400).map { "h\($0)" }

    func testRunsCancellationsAndBookingsAgainSurviveKillNine() throws {
        try startStack()
        try expect(try connect(), "PROVIDER busy 1000", "+OK")

        let first = Array(holders.prefix(300))
        try send(first.map { "BOOK busy \($0)" }, expecting: "+BOOKED")
        booked = Set(first)
        let fields = try redis.cli(["HLEN", "kezek:{busy}:booked-batches"])
        XCTAssertGreaterThan(
            Int(fields.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0, 0,
            "no run of bookings was written as a field")
        // On a lone Redis a run's field names its place in the log, which has its holders.
        XCTAssertTrue(
            try redis.cli(["HVALS", "kezek:{busy}:booked-batches"]).split(separator: "\n")
                .contains { $0.hasPrefix(">") }, "no run named its place in the log")
        try checkAcrossKillNine("booked")

        // After the restart: recovery must know the fields exist, or these go unmasked.
        let cancelled = first.enumerated().filter { $0.offset % 3 == 0 }.map(\.element)
        try send(cancelled.map { "CANCEL busy \($0)" }, expecting: "+CANCELLED")
        booked.subtract(cancelled)
        try checkAcrossKillNine("a third cancelled")

        let again = cancelled.enumerated().filter { $0.offset % 2 == 0 }.map(\.element)
        try send(again.map { "BOOK busy \($0)" }, expecting: "+BOOKED")
        booked.formUnion(again)
        try send(again.prefix(5).map { "CANCEL busy \($0)" }, expecting: "+CANCELLED")
        booked.subtract(again.prefix(5))
        try checkAcrossKillNine("half of them booked again, five of those cancelled again")

        // Redis loses everything: the daemon writes its state back (sets, and a new log that
        // takes the old one's place), and runs booked after it name the new log.
        _ = try redis.cli(["FLUSHALL"])
        let client = try connect()
        let reply = try client.request("BOOK busy \(cancelled[1])")
        XCTAssertTrue(reply.hasPrefix("+BOOKED"), reply)
        booked.insert(cancelled[1])
        let deadline = Date().addingTimeInterval(10)
        while try redis.cli(["EXISTS", "kezek:{busy}:capacity", "kezek:{lease}:writeback"])
            != "1\n", Date() < deadline
        {
            usleep(20_000)
        }
        try checkAcrossKillNine("after Redis lost everything and the daemon wrote it back")
        let last = Array(holders.suffix(100))
        try send(last.map { "BOOK busy \($0)" }, expecting: "+BOOKED")
        booked.formUnion(last)
        try checkAcrossKillNine("runs booked after the write-back")
    }

    /// Sends `lines` pipelined; every reply starts with `prefix`.
    private func send(_ lines: [String], expecting prefix: String) throws {
        let replies = try connect().pipeline(lines)
        for (line, reply) in zip(lines, replies) where !reply.hasPrefix(prefix) {
            XCTFail("\(line): \(reply)")
        }
    }

    /// What is served and what Redis holds equal `booked`, before and after kill -9 and a restart.
    private func checkAcrossKillNine(_ stage: String) throws {
        try checkState("\(stage)")
        kezekd.kill9()
        try kezekd.start()
        try checkState("\(stage), after kill -9 and a restart")
    }

    private func checkState(_ stage: String) throws {
        let client = try connect()
        let statuses = try client.pipeline(holders.map { "STATUS busy \($0)" })
        for (holder, status) in zip(holders, statuses) {
            XCTAssertEqual(
                status, booked.contains(holder) ? "+BOOKED" : "+NONE", "\(stage): \(holder)")
        }
        XCTAssertEqual(try seats(client, "busy")["booked"], booked.count, stage)
        XCTAssertEqual(try StoredBookings.holders("busy", in: redis), booked.sorted(), stage)
    }
}
