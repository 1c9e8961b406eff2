import Foundation
import KezekDraw
import XCTest
import KezekTestSupport

/// The warm standby (PROTOCOL.md "Standby"): a standby loads once, follows the holder's audit
/// log, and at a takeover reads only what changed; what it then serves equals what a cold
/// start serves. A log it cannot follow (a gap) sends it back to a full load.
final class WarmStandbyTests: IntegrationTestCase {
    private let providers = (0..<6).map { "club\($0)" }
    private let holders = (0..<60).map { "h\($0)" }

    /// Everything a client can read: SEATS of every provider, STATUS of every holder there.
    private func served(port: Int) throws -> [String] {
        let client = try LineClient(port: port)
        var lines = try client.pipeline(providers.map { "SEATS \($0)" })
        for provider in providers {
            lines += try client.pipeline(holders.map { "STATUS \(provider) \($0)" }).map {
                "\(provider) \($0)"
            }
        }
        return lines
    }

    /// A seeded burst of BOOK, BOOK … WAIT, CANCEL and capacity changes.
    private func burst(port: Int, seed: UInt64, count: Int) throws {
        var random = SplitMix64(seed: seed)
        let requests = (0..<count).map { _ -> String in
            let provider = providers[Int.random(in: 0..<providers.count, using: &random)]
            let holder = holders[Int.random(in: 0..<holders.count, using: &random)]
            switch Int.random(in: 0..<10, using: &random) {
            case 0: return "PROVIDER \(provider) \(Int.random(in: 8...12, using: &random))"
            case 1...3: return "BOOK \(provider) \(holder)"
            case 4...6: return "BOOK \(provider) \(holder) WAIT"
            default: return "CANCEL \(provider) \(holder)"
            }
        }
        let replies = try LineClient(port: port).pipeline(requests)
        XCTAssertFalse(
            replies.contains { $0.hasPrefix("-") && !$0.hasPrefix("-ERR capacity below") },
            "\(replies.filter { $0.hasPrefix("-") }.prefix(3))")
    }

    private func log(of process: KezekdProcess) -> String {
        (try? String(contentsOfFile: process.stderrPath, encoding: .utf8)) ?? ""
    }

    private func waitForLine(
        _ text: String, count: Int = 1, in process: KezekdProcess,
        file: StaticString = #filePath, line: UInt = #line
    ) {
        let seen = poll(timeout: 15) {
            self.log(of: process).components(separatedBy: text).count - 1 >= count ? true : nil
        }
        XCTAssertEqual(
            seen, true, "no '\(text)' (×\(count)) in the log:\n\(log(of: process).suffix(2000))",
            file: file, line: line)
    }

    /// A holder (lease-ttl 2) with the providers, and a standby that has loaded them.
    private func startHolderAndStandby() throws -> KezekdProcess {
        try startStack(["--lease-ttl", "2"])
        let admin = try connect()
        for provider in providers { try expect(admin, "PROVIDER \(provider) 10", "+OK") }
        let standby = try second(arguments: ["--lease-ttl", "2"])
        waitForLine("standby: state loaded", in: standby)
        return standby
    }

    func testAStandbyThatFollowedTheLogServesWhatAColdStartServes() throws {
        let standby = try startHolderAndStandby()
        try burst(port: kezekd.port, seed: 7, count: 4_000)
        let holderView = try served(port: kezekd.port)
        pause(1)  // the standby reads the changed providers at its next looks
        try takeOverThenStartCold(standby, holderView: holderView, burstSeed: 8)
    }

    /// SIGKILL of the holder: the standby takes over warm and serves `holderView`; after a
    /// burst on it, a cold start over the same Redis serves what the standby served.
    private func takeOverThenStartCold(
        _ standby: KezekdProcess, holderView: [String], burstSeed: UInt64,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        kezekd.kill9()
        try standby.waitHealthy(timeout: 15)
        XCTAssertTrue(
            log(of: standby).contains("state taken over warm"),
            log(of: standby).suffix(2000).description, file: file, line: line)
        XCTAssertEqual(
            try served(port: standby.port), holderView,
            "the warm standby serves what the holder served", file: file, line: line)
        // New waiters after the takeover are scored after those the log gave the standby.
        try burst(port: standby.port, seed: burstSeed, count: 1_000)
        let warm = try served(port: standby.port)

        // A cold start over the same Redis serves the same (once the refused counts, written
        // every 100 ms, are in Redis).
        pause(0.5)
        standby.terminate()
        try kezekd.start()
        XCTAssertTrue(log(of: kezekd).contains("state loaded from redis"), file: file, line: line)
        let cold = try served(port: kezekd.port)
        XCTAssertEqual(cold.count, warm.count, file: file, line: line)
        let differing = zip(cold, warm).filter { $0 != $1 }
        XCTAssertEqual(
            differing.count, 0,
            "a cold start serves what the warm standby served; (cold, warm): \(differing.prefix(5))",
            file: file, line: line)
    }

    /// A draw's waitlist places are a field of each provider's tags hash, not sorted-set
    /// members (RoundTagFields): a standby that followed the draw and a burst after it serves
    /// what the holder served, scores its new waiters after them, and a cold start agrees.
    func testAStandbyServesADrawsWaitlistPlacesAsTheHolderDid() throws {
        let standby = try startHolderAndStandby()
        let admin = try connect()
        try expect(admin, "ROUND OPEN r \(SHA256.hex("s"))", "+OK")
        // 60 applicants for the 30 seats of three providers: half of them wait somewhere.
        var random = SplitMix64(seed: 3)
        let applications = holders.map { holder in
            "APPLY r \(holder) "
                + providers.prefix(3).shuffled(using: &random).joined(separator: " ")
        }
        XCTAssertTrue(try admin.pipeline(applications).allSatisfy { $0 == "+APPLIED 3" })
        try expect(admin, "ROUND CLOSE r", "+CLOSED 60")
        try expect(admin, "ROUND DRAW r s", prefix: "+DRAWN ")
        try burst(port: kezekd.port, seed: 9, count: 2_000)
        let holderView = try served(port: kezekd.port)
        XCTAssertTrue(holderView.contains { $0.contains("+WAITING") })
        pause(1)  // the standby reads the changed providers at its next looks
        try takeOverThenStartCold(standby, holderView: holderView, burstSeed: 10)
    }

    /// A busy provider's bookings that the holder wrote as a field of its batches hash
    /// (`BookedBatches`), and the standby learnt from the log: cancelled after the takeover,
    /// they must be masked there, or a cold start counts them booked again.
    func testCancellationsAfterATakeoverMaskBookingsTheStandbyFollowed() throws {
        let standby = try startHolderAndStandby()
        try expect(try connect(), "PROVIDER busy 100", "+OK")
        let booked = (0..<40).map { "b\($0)" }
        XCTAssertTrue(
            try connect().pipeline(booked.map { "BOOK busy \($0)" }).allSatisfy {
                $0.hasPrefix("+BOOKED")
            })
        XCTAssertNotEqual(
            try redis.cli(["HLEN", "kezek:{busy}:booked-batches"]), "0\n",
            "no run of bookings was written as a field")
        pause(1)  // the standby follows the log
        kezekd.kill9()
        try standby.waitHealthy(timeout: 15)
        let cancelled = booked.prefix(10)
        XCTAssertEqual(
            try LineClient(port: standby.port).pipeline(cancelled.map { "CANCEL busy \($0)" }),
            Array(repeating: "+CANCELLED 61", count: 1) + (62...70).map { "+CANCELLED \($0)" })
        standby.terminate()
        try kezekd.start()
        let client = try connect()
        XCTAssertEqual(
            try client.pipeline(booked.map { "STATUS busy \($0)" }),
            cancelled.map { _ in "+NONE" } + booked.dropFirst(10).map { _ in "+BOOKED" })
        XCTAssertEqual(try seats(client, "busy")["booked"], 30)
    }

    /// A takeover just after a burst: the standby reads the log's tail and the providers it
    /// names while taking over, and still serves every acknowledged change.
    func testATakeoverRightAfterABurstReadsTheTail() throws {
        let standby = try startHolderAndStandby()
        try burst(port: kezekd.port, seed: 11, count: 3_000)
        let holderView = try served(port: kezekd.port)
        kezekd.kill9()
        try standby.waitHealthy(timeout: 15)
        // Refused counts reach Redis every 100 ms, not with each reply: the last ones may be lost.
        let withoutRefused = { (lines: [String]) in
            lines.map {
                $0.replacingOccurrences(of: #" refused=\d+"#, with: "", options: .regularExpression)
            }
        }
        XCTAssertEqual(withoutRefused(try served(port: standby.port)), withoutRefused(holderView))
    }

    func testAStandbyThatFindsAGapInTheLogLoadsEverythingAgain() throws {
        let standby = try startHolderAndStandby()
        try burst(port: kezekd.port, seed: 3, count: 500)
        // An entry whose seq skips ahead: steps are missing (a trim, a lagging replica).
        let epoch = try redis.cli(["GET", "kezek:{lease}:epoch"]).trimmingCharacters(
            in: .whitespacesAndNewlines)
        let steps =
            Int(
                try redis.cli(["GET", "kezek:{lease}:steps"]).trimmingCharacters(
                    in: .whitespacesAndNewlines)) ?? 0
        _ = try redis.cli(["SET", "kezek:{lease}:steps", String(steps + 5)])
        _ = try redis.cli(["XADD", "kezek:audit", "*", "epoch", epoch, "seq", String(steps + 5)])
        waitForLine("the audit log has a gap", in: standby)
        waitForLine("standby: state loaded", count: 2, in: standby)
        try burst(port: kezekd.port, seed: 4, count: 500)
        let holderView = try served(port: kezekd.port)
        pause(1)
        kezekd.kill9()
        try standby.waitHealthy(timeout: 15)
        XCTAssertEqual(try served(port: standby.port), holderView)
    }
}
