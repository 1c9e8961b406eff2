import Foundation
import KezekDraw
import XCTest
import KezekTestSupport

/// The public listener (PROTOCOL.md "Transparency", "Publication"): the CSVs, the published
/// draw re-run by an independent implementation and by `kezek-audit`, DEMAND-like figures in
/// /metrics, and both pages rendered by headless Chromium.
final class PublicPageTests: IntegrationTestCase {
    /// Three districts, bookings, a waitlist and refusals, then a round with levels.
    private func setUpCity(_ client: LineClient, offers: Bool) throws -> [String: [ReferenceDraw
        .Choice]]
    {
        for line in [
            "PROVIDER almaly.chess 3", "PROVIDER almaly.art 2", "PROVIDER medeu.swim 4",
            "PROVIDER turksib.choir 1",
        ] {
            try expect(client, line, "+OK")
        }
        try expect(client, "BOOK almaly.chess walk1", "+BOOKED 2")
        try expect(client, "BOOK turksib.choir walk2", "+BOOKED 0")
        try expect(client, "BOOK turksib.choir walk3", "+FULL turksib.choir")
        try expect(client, "BOOK turksib.choir walk3 WAIT", "+WAITING 1")
        try expect(
            client, "ROUND OPEN spring \(SHA256.hex("witnessed-coin-toss")) CHOICES 3", "+OK")
        var random = SplitMix64(seed: 5)
        let providers = ["almaly.chess", "almaly.art", "medeu.swim", "turksib.choir"]
        var applications: [String: [ReferenceDraw.Choice]] = [:]
        for a in 0..<60 {
            var choices: [ReferenceDraw.Choice] = []
            for provider in providers.shuffled(using: &random).prefix(1 + Int(random.next() % 3)) {
                choices.append(.init(provider: provider, level: random.next() % 6 == 0 ? 2 : 0))
            }
            applications["kid\(a)"] = choices
            let tokens = choices.map { $0.level == 0 ? $0.provider : "\($0.provider)/\($0.level)" }
            try expect(
                client, "APPLY spring kid\(a) \(tokens.joined(separator: " "))",
                "+APPLIED \(choices.count)")
        }
        try expect(client, "ROUND CLOSE spring", "+CLOSED 60")
        try expect(client, "ROUND DRAW spring witnessed-coin-toss", prefix: "+DRAWN ")
        return applications
    }

    func testProvidersCSVAndDistrictMetricsMatchSeats() throws {
        try startStack()
        let client = try connect()
        _ = try setUpCity(client, offers: false)
        let csv = try adminGet(port: kezekd.publicPort, path: "/providers.csv")
        XCTAssertEqual(csv.status, 200)
        var lines = ["provider,capacity,booked,offered,waiting,refused"]
        var districts: [String: [Int]] = [:]
        for provider in ["almaly.art", "almaly.chess", "medeu.swim", "turksib.choir"] {
            let f = try seats(client, provider)
            let row = [
                f["capacity"]!, f["booked"]!, f["offered"] ?? 0, f["waiting"]!, f["refused"]!,
            ]
            lines.append(([provider] + row.map(String.init)).joined(separator: ","))
            let district = String(provider.split(separator: ".")[0])
            districts[district] = zip(districts[district] ?? [0, 0, 0, 0, 0], row).map { $0 + $1 }
        }
        XCTAssertEqual(csv.body.trimmingCharacters(in: .newlines), lines.joined(separator: "\n"))
        XCTAssertEqual(districts["turksib"]?[4], 1, "the refused BOOK is counted")
        let metrics = try adminGet(port: kezekd.adminPort, path: "/metrics").body
        for (district, row) in districts {
            for (kind, value) in zip(["capacity", "booked", "offered", "waiting", "refused"], row) {
                XCTAssertTrue(
                    metrics.contains(
                        "kezek_district_seats{district=\"\(district)\",kind=\"\(kind)\"} \(value)\n"
                    ),
                    "\(district) \(kind) \(value) missing from /metrics")
            }
        }
    }

    func testPublishedDrawRerunsToTheSameOutcome() throws {
        try startStack(["--offer-ttl", "600"])
        let client = try connect()
        // Seats free at the draw: capacity minus what first come, first served took.
        let free = ["almaly.chess": 2, "almaly.art": 2, "medeu.swim": 4, "turksib.choir": 0]
        let applications = try setUpCity(client, offers: true)
        let response = try adminGet(port: kezekd.publicPort, path: "/rounds/spring/draw.csv")
        XCTAssertEqual(response.status, 200)
        let rows = response.body.split(separator: "\n").map(String.init)
        XCTAssertEqual(rows.first, "lottery,choices,outcome,provider,rank")
        XCTAssertEqual(rows.count, 61)
        let body = Array(rows.dropFirst())
        XCTAssertEqual(body, body.sorted(), "rows sorted by lottery number")
        // Every family finds its row from its own lottery number, and it says what RESULT says.
        var byLottery: [String: [String]] = [:]
        for row in body {
            byLottery[String(row.prefix(64))] = row.split(
                separator: ",", omittingEmptySubsequences: false
            ).map(String.init)
        }
        var lottery: [String: String] = [:]
        for (holder, choices) in applications {
            let number = SHA256.hex("witnessed-coin-toss:\(holder)")
            lottery[holder] = number
            guard let fields = byLottery[number] else {
                XCTFail("no row for \(holder)")
                continue
            }
            XCTAssertEqual(
                fields[1],
                choices.map { $0.level == 0 ? $0.provider : "\($0.provider)/\($0.level)" }.joined(
                    separator: " "))
            let result = try client.request("RESULT spring \(holder)")
            if fields[2] == "offered" {
                XCTAssertTrue(
                    result.hasPrefix("+OFFERED \(fields[3]) \(fields[4]) "),
                    "\(holder): \(fields) vs \(result)")
            } else {
                XCTAssertEqual(fields[2], "unplaced")
                XCTAssertTrue(
                    result == "+UNPLACED" || result.hasPrefix("+WAITING "), "\(holder): \(result)")
            }
        }
        // An independent re-run (textbook Gale-Shapley over the rows alone) gives the same outcome.
        var csvApplications: [String: [ReferenceDraw.Choice]] = [:]
        for (number, fields) in byLottery {
            csvApplications[number] = fields[1].split(separator: " ").map { token in
                let parts = token.split(separator: "/")
                return .init(
                    provider: String(parts[0]), level: parts.count == 2 ? Int(parts[1])! : 0)
            }
        }
        let rerun = ReferenceDraw(
            lottery: Dictionary(uniqueKeysWithValues: byLottery.keys.map { ($0, $0) }),
            applications: csvApplications, freeSeats: free)
        for (number, fields) in byLottery {
            let placement = rerun.placements[number]
            XCTAssertEqual(placement?.provider ?? "", fields[3], number)
            XCTAssertEqual(placement.map { String($0.rank) } ?? "", fields[4], number)
        }
        // kezek-audit re-runs it from the file alone, and finds a tampered row.
        let file = directory.appendingPathComponent("draw.csv")
        try response.body.write(to: file, atomically: true, encoding: .utf8)
        let audit = try runProgram(
            builtProgram("kezek-audit"),
            [
                "verify-draw", file.path, "--seed", "witnessed-coin-toss",
                "--commitment", SHA256.hex("witnessed-coin-toss"), "--holder", "kid7",
            ],
            timeout: 30)
        XCTAssertEqual(audit.status, 0, audit.stdout + audit.stderr)
        XCTAssertTrue(audit.stdout.contains("re-run mismatches: 0"), audit.stdout)
        XCTAssertTrue(
            audit.stdout.contains("holder kid7: lottery \(lottery["kid7"]!)"), audit.stdout)
        guard let placedIndex = body.firstIndex(where: { $0.contains(",offered,") }),
            let unplacedIndex = body.firstIndex(where: { $0.hasSuffix(",unplaced,,") })
        else {
            return XCTFail("the draw should place some and leave some unplaced")
        }
        var tampered = body
        // Swap the outcomes of a placed row and an unplaced row with the same first choice, when
        // there is one; else simply move the placed row's seat to the unplaced one.
        let placedFields = tampered[placedIndex].split(
            separator: ",", omittingEmptySubsequences: false)
        let unplacedFields = tampered[unplacedIndex].split(
            separator: ",", omittingEmptySubsequences: false)
        tampered[placedIndex] = "\(placedFields[0]),\(placedFields[1]),unplaced,,"
        let firstChoice = unplacedFields[1].split(separator: " ")[0].split(separator: "/")[0]
        tampered[unplacedIndex] =
            "\(unplacedFields[0]),\(unplacedFields[1]),offered,\(firstChoice),1"
        try (["lottery,choices,outcome,provider,rank"] + tampered).joined(separator: "\n").write(
            to: file, atomically: true, encoding: .utf8)
        let caught = try runProgram(
            builtProgram("kezek-audit"), ["verify-draw", file.path], timeout: 30)
        XCTAssertEqual(caught.status, 1, caught.stdout)
        XCTAssertTrue(caught.stdout.contains("mismatch: "), caught.stdout)
    }

    func testPagesRenderInChromiumWithTheRightFigures() throws {
        try startStack()
        let client = try connect()
        _ = try setUpCity(client, offers: false)
        let chess = try seats(client, "almaly.chess")
        let art = try seats(client, "almaly.art")
        let dom = try Chromium.renderedDOM("http://127.0.0.1:\(kezekd.publicPort)/")
        let booked = chess["booked"]! + art["booked"]!
        XCTAssertTrue(
            dom.contains(
                "<tr data-district=\"almaly\"><td>almaly</td><td class=\"num providers\">2</td><td class=\"num capacity\">5</td><td class=\"num booked\">\(booked)</td>"
            ),
            "the almaly row of the rendered page: \(dom.range(of: "data-district=\"almaly\"").map { String(dom[$0.lowerBound...].prefix(400)) } ?? "absent")"
        )
        XCTAssertTrue(dom.contains("<span class=\"n\" data-total=\"capacity\">10</span>"))
        XCTAssertTrue(dom.contains("<span class=\"n\" data-total=\"refused\">1</span>"))
        XCTAssertTrue(dom.contains("<svg"), "charts are drawn")
        XCTAssertTrue(dom.contains("href=\"/rounds/spring\""))
        let round = try Chromium.renderedDOM("http://127.0.0.1:\(kezekd.publicPort)/rounds/spring")
        let drawn = try client.request("ROUND DRAW spring witnessed-coin-toss")
        let placed = drawn.split(separator: " ")[1].dropFirst("offered=".count)
        XCTAssertTrue(round.contains("<dd data-round=\"state\">drawn</dd>"))
        XCTAssertTrue(round.contains("<dd data-round=\"applicants\">60</dd>"))
        XCTAssertTrue(round.contains("<code data-round=\"seed\">witnessed-coin-toss</code>"))
        XCTAssertTrue(
            round.contains("<span class=\"n\" data-round=\"offered\">\(placed)</span>"),
            "placed \(placed)")
        XCTAssertTrue(round.contains("href=\"/rounds/spring/draw.csv\""))
        XCTAssertEqual(try adminGet(port: kezekd.publicPort, path: "/rounds/nope").status, 404)
    }
}
