import Foundation
import KezekDraw
import XCTest
import KezekTestSupport

/// Fair rounds (PROTOCOL.md "Fair rounds") against a real kezekd and redis-server: the
/// replies, a draw of thousands checked against an independent re-computation, offers
/// (confirm, decline, expiry, the cascade) and crashes.
final class RoundTests: IntegrationTestCase {
    private func commitment(_ seed: String) -> String { SHA256.hex(seed) }

    func testRoundCommandsAnswerAsTheContractSays() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER a 1", "+OK")
        try expect(client, "PROVIDER b 1", "+OK")
        try expect(client, "ROUND OPEN r1 nothex", "-ERR invalid commitment")
        try expect(
            client, "ROUND OPEN r1 \(commitment("s1")) CHOICES 21",
            "-ERR invalid choices '21' (1 to 20)")
        try expect(client, "ROUND OPEN r1 \(commitment("s1")) SEATS 2", "-ERR syntax error")
        try expect(client, "ROUND OPEN r1 \(commitment("s1")) CHOICES 2", "+OK")
        try expect(client, "ROUND OPEN r1 \(commitment("s1"))", "-ERR round exists")
        try expect(client, "ROUND OPEN r2 \(commitment("s2"))", "-BUSYROUND r1")
        try expect(
            client, "ROUND STATUS r1",
            "+ROUND r1 state=open applicants=0 commitment=\(commitment("s1"))")
        try expect(client, "ROUND STATUS nope", "-NOROUND nope")
        // While the round is undrawn the lottery is the only way in.
        try expect(client, "BOOK a h0", "+ROUND r1")
        try expect(client, "APPLY nope h1 a", "-NOROUND nope")
        try expect(client, "APPLY r1 h1 a b a", "-ERR too many choices")
        try expect(client, "APPLY r1 h1 a a/2", "-ERR duplicate choice 'a'")
        try expect(client, "APPLY r1 h1 a/0", "-ERR invalid choice 'a/0'")
        try expect(client, "APPLY r1 h1 zz", "-NOPROVIDER zz")
        try expect(client, "APPLY r1 h1 a b", "+APPLIED 2")
        try expect(client, "APPLY r1 h1 b", "+APPLIED 1")  // replaces the earlier one
        try expect(client, "APPLY r1 h2 a/3 b", "+APPLIED 2")
        try expect(client, "APPLY r1 h3 a", "+APPLIED 1")
        try expect(client, "WITHDRAW r1 h3", "+WITHDRAWN")
        try expect(client, "WITHDRAW r1 h3", "+NOTFOUND h3")
        try expect(client, "RESULT r1 h1", "+APPLIED 1")
        try expect(client, "ROUND DRAW r1 s1", "-ERR round is open")
        try expect(client, "ROUND CLOSE r1", "+CLOSED 2")
        try expect(client, "ROUND CLOSE r1", "+CLOSED 2")
        try expect(client, "APPLY r1 h4 a", "+CLOSED r1")
        try expect(client, "WITHDRAW r1 h1", "+CLOSED r1")
        try expect(client, "ROUND DRAW r1 wrong", "-ERR seed does not match commitment")
        try expect(client, "BOOK b h0", "+ROUND r1")
        try expect(client, "ROUND DRAW r1 s1", "+DRAWN offered=2 waiting=0 unplaced=0")
        try expect(client, "ROUND DRAW r1 s1", "+DRAWN offered=2 waiting=0 unplaced=0")
        try expect(
            client, "ROUND STATUS r1",
            "+ROUND r1 state=drawn applicants=2 commitment=\(commitment("s1")) seed=s1")
        // offer-ttl 0: placements are bookings.
        try expect(client, "RESULT r1 h1", "+BOOKED b 1")
        try expect(client, "RESULT r1 h2", "+BOOKED a 1")
        try expect(client, "RESULT r1 h3", "+NONE")
        try expect(client, "STATUS a h2", "+BOOKED")
        // First come, first served again.
        try expect(client, "BOOK a h0", "+FULL a")
        try expect(client, "BOOK a h0 WAIT", "+WAITING 1")
        try expect(
            client, "DEMAND a", "+DEMAND first=1 any=1 booked=1 offered=0 waiting=1 refused=1")
        try expect(
            client, "DEMAND b", "+DEMAND first=1 any=2 booked=1 offered=0 waiting=0 refused=0")
        try expect(client, "DEMAND zz", "-NOPROVIDER zz")
        // The next round may open now.
        try expect(client, "ROUND OPEN r2 \(commitment("s2"))", "+OK")
    }

    func testRoundCommandsNeedTheAdminToken() throws {
        try startStack(["--token", "client-secret", "--admin-token", "admin-secret"])
        let client = try connect()
        try expect(client, "AUTH client-secret", "+OK")
        try expect(
            client, "ROUND OPEN r1 \(commitment("s"))",
            "-NOPERM this connection is not allowed to run 'round'")
        let admin = try connect()
        try expect(admin, "AUTH admin-secret", "+OK")
        try expect(admin, "ROUND OPEN r1 \(commitment("s"))", "+OK")
        try expect(client, "ROUND STATUS r1", prefix: "+ROUND r1 state=open")
        try expect(
            client, "ROUND CLOSE r1", "-NOPERM this connection is not allowed to run 'round'")
    }

    /// A seeded draw of thousands of applicants with levels over a few dozen providers.
    private struct Plan {
        var providers: [String: Int] = [:]
        var applications: [String: [ReferenceDraw.Choice]] = [:]

        init(applicants: Int, providers providerCount: Int, choices: Int, seed: UInt64) {
            var random = SplitMix64(seed: seed)
            for p in 0..<providerCount { providers["club\(p)"] = 1 + Int(random.next() % 12) }
            for a in 0..<applicants {
                var picked: [ReferenceDraw.Choice] = []
                let count = 1 + Int(random.next() % UInt64(choices))
                while picked.count < count {
                    // Popular clubs first: a skewed pick.
                    let p =
                        Int(random.next() % UInt64(providerCount)) * Int(random.next() % 100) / 100
                    let id = "club\(p)"
                    guard !picked.contains(where: { $0.provider == id }) else { continue }
                    let level = random.next() % 10 == 0 ? 1 + Int(random.next() % 3) : 0
                    picked.append(.init(provider: id, level: level))
                }
                applications["child\(a)"] = picked
            }
        }

        func applyLines(round: String) -> [String] {
            applications.keys.sorted().map { holder in
                "APPLY \(round) \(holder) "
                    + applications[holder]!.map {
                        $0.level == 0 ? $0.provider : "\($0.provider)/\($0.level)"
                    }.joined(separator: " ")
            }
        }
    }

    private func openRound(_ client: LineClient, _ plan: Plan, seed: String) throws {
        let created = try client.pipeline(
            plan.providers.sorted { $0.key < $1.key }.map { "PROVIDER \($0.key) \($0.value)" })
        XCTAssertEqual(Set(created), ["+OK"])
        try expect(client, "ROUND OPEN big \(commitment(seed)) CHOICES 4", "+OK")
        let applied = try client.pipeline(plan.applyLines(round: "big"))
        XCTAssertTrue(applied.allSatisfy { $0.hasPrefix("+APPLIED ") }, "\(Set(applied))")
        try expect(client, "ROUND CLOSE big", "+CLOSED \(plan.applications.count)")
    }

    private func checkResults(
        _ client: LineClient, _ plan: Plan, seed: String, offers: Bool,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let reference = ReferenceDraw(
            seed: seed, applications: plan.applications, freeSeats: plan.providers)
        let holders = plan.applications.keys.sorted()
        let replies = try client.pipeline(holders.map { "RESULT big \($0)" })
        var mismatches: [String] = []
        for (holder, reply) in zip(holders, replies) {
            let expected = reference.expectedResult(
                holder, applications: plan.applications, offers: offers)
            // An offer's reply ends with its seconds left.
            let got =
                offers && reply.hasPrefix("+OFFERED")
                ? reply.split(separator: " ").dropLast().joined(separator: " ") : reply
            if got != expected {
                mismatches.append("\(holder): expected \(expected), got \(reply)")
            }
        }
        XCTAssertEqual(
            mismatches.count, 0, "first mismatches: \(mismatches.prefix(5))", file: file, line: line
        )
        let placed = reference.placements.count
        let waiting = holders.filter { reference.placements[$0]?.rank != 1 }.count
        try expect(
            client, "ROUND DRAW big \(seed)",
            "+DRAWN offered=\(placed) waiting=\(waiting) unplaced=\(holders.count - placed)",
            file: file, line: line)
        for (provider, capacity) in plan.providers {
            let fields = try seats(client, provider)
            let placedHere = reference.placements.values.filter { $0.provider == provider }.count
            XCTAssertEqual(
                fields[offers ? "offered" : "booked"] ?? 0, placedHere, provider, file: file,
                line: line)
            XCTAssertEqual(
                fields["waiting"], reference.waitlists[provider]?.count ?? 0, provider, file: file,
                line: line)
            XCTAssertEqual(fields["free"], capacity - placedHere, provider, file: file, line: line)
            let first = plan.applications.values.filter { $0.first?.provider == provider }.count
            let any = plan.applications.values.filter { $0.contains { $0.provider == provider } }
                .count
            try expect(
                client, "DEMAND \(provider)",
                "+DEMAND first=\(first) any=\(any) booked=\(fields["booked"]!) offered=\(fields["offered"] ?? 0) waiting=\(fields["waiting"]!) refused=0",
                file: file, line: line)
        }
    }

    func testDrawOfThousandsMatchesAnIndependentComputation() throws {
        try startStack(["--offer-ttl", "600"])
        let client = try connect()
        let plan = Plan(applicants: 3_000, providers: 40, choices: 4, seed: 42)
        try openRound(client, plan, seed: "beacon-7f3a")
        let drawn = try client.request("ROUND DRAW big beacon-7f3a", timeout: 60)
        XCTAssertTrue(drawn.hasPrefix("+DRAWN offered="), drawn)
        try checkResults(client, plan, seed: "beacon-7f3a", offers: true)
        // Everything survives kill -9: the round, the offers, the waitlists.
        kezekd.kill9()
        try kezekd.start()
        try checkResults(try connect(), plan, seed: "beacon-7f3a", offers: true)
    }

    func testOffersConfirmDeclineExpireAndCascade() throws {
        // Offers of 6 s: the requests from the draw to the decline must not outlast them on a
        // loaded machine.
        try startStack(["--offer-ttl", "6"])
        let client = try connect()
        for line in ["PROVIDER top 1", "PROVIDER mid 1", "PROVIDER low 1"] {
            try expect(client, line, "+OK")
        }
        try expect(client, "ROUND OPEN r \(commitment("seed"))", "+OK")
        // Levels decide the order at "top" and "mid" whatever the lottery: ann/3 > bob/2 > cat/1.
        try expect(client, "APPLY r ann top/3 mid/1 low", "+APPLIED 3")
        try expect(client, "APPLY r bob top/2 mid/3 low", "+APPLIED 3")
        try expect(client, "APPLY r cat top/1 mid/2 low/1", "+APPLIED 3")
        try expect(client, "ROUND CLOSE r", "+CLOSED 3")
        try expect(client, "ROUND DRAW r seed", "+DRAWN offered=3 waiting=2 unplaced=0")
        try expect(client, "RESULT r ann", prefix: "+OFFERED top 1 ")
        try expect(client, "RESULT r bob", prefix: "+OFFERED mid 2 ")
        try expect(client, "RESULT r cat", prefix: "+OFFERED low 3 ")
        try expect(client, "STATUS top ann", prefix: "+OFFERED ")
        try expect(
            client, "SEATS top", "+SEATS capacity=1 booked=0 free=0 waiting=2 refused=0 offered=1")
        // bob waits at top (rank 1), behind cat? No: levels, bob/2 before cat/1.
        try expect(client, "STATUS top bob", "+WAITING 1")
        try expect(client, "STATUS top cat", "+WAITING 2")
        try expect(client, "STATUS mid cat", "+WAITING 1")
        // ann declines top: the seat goes to bob as an offer (its offer at mid was not confirmed
        // yet), and bob's offer at mid (worse) is released in the same step, which passes mid to
        // cat (its rank 2), which releases cat's offer at low.
        try expect(client, "CANCEL top ann", "+CANCELLED 0")
        let settled = poll(timeout: 5) { () -> Bool? in
            (try? client.request("RESULT r cat")).map { $0.hasPrefix("+OFFERED mid 2 ") } == true
                ? true : nil
        }
        XCTAssertEqual(settled, true, "the cascade did not reach cat")
        try expect(client, "RESULT r ann", "+UNPLACED")
        try expect(client, "RESULT r bob", prefix: "+OFFERED top 1 ")
        try expect(client, "STATUS mid bob", "+NONE")
        try expect(client, "STATUS low cat", "+NONE")
        try expect(client, "STATUS top cat", "+WAITING 1")
        try expect(
            client, "SEATS low", "+SEATS capacity=1 booked=0 free=1 waiting=0 refused=0 offered=0")
        // bob lets its offer expire: top goes to cat (rank 1), whose offer at mid is released.
        let expired = poll(timeout: 15) { () -> Bool? in
            (try? client.request("RESULT r cat")).map { $0.hasPrefix("+OFFERED top 1 ") } == true
                ? true : nil
        }
        XCTAssertEqual(expired, true, "bob's offer did not expire to cat")
        try expect(client, "RESULT r bob", "+UNPLACED")
        try expect(
            client, "SEATS mid", "+SEATS capacity=1 booked=0 free=1 waiting=0 refused=0 offered=0")
        try expect(client, "CONFIRM top cat", "+CONFIRMED 0")
        try expect(client, "CONFIRM top cat", "+NOTFOUND cat")
        try expect(client, "RESULT r cat", "+BOOKED top 1")
        // Confirmed bookings do not expire.
        pause(6.5)
        try expect(client, "STATUS top cat", "+BOOKED")
    }

    /// A holder that confirmed a worse choice and then moves up is booked at the better one:
    /// an offer there would let it lose both seats by not confirming again.
    func testAConfirmedHolderMovingUpKeepsABooking() throws {
        try startStack(["--offer-ttl", "6"])
        let client = try connect()
        try expect(client, "PROVIDER A 1", "+OK")
        try expect(client, "PROVIDER B 1", "+OK")
        try expect(client, "ROUND OPEN r \(commitment("seed"))", "+OK")
        try expect(client, "APPLY r h1 A B", "+APPLIED 2")
        try expect(client, "APPLY r h2 A B", "+APPLIED 2")
        try expect(client, "ROUND CLOSE r", "+CLOSED 2")
        try expect(client, "ROUND DRAW r seed", "+DRAWN offered=2 waiting=1 unplaced=0")
        let first = try client.request("RESULT r h1").hasPrefix("+OFFERED A 1 ") ? "h1" : "h2"
        let second = first == "h1" ? "h2" : "h1"
        try expect(client, "RESULT r \(second)", prefix: "+OFFERED B 2 ")
        try expect(client, "CONFIRM B \(second)", "+CONFIRMED 0")
        try expect(client, "CANCEL A \(first)", "+CANCELLED 0")
        let moved = poll(timeout: 5) { () -> Bool? in
            (try? client.request("RESULT r \(second)")) == "+BOOKED A 1" ? true : nil
        }
        XCTAssertEqual(moved, true, "the confirmed holder should be booked at its first choice")
        try expect(client, "STATUS B \(second)", "+NONE")
        pause(6.5)  // longer than offer-ttl: nothing of it expires
        try expect(client, "RESULT r \(second)", "+BOOKED A 1")
        try expect(
            client, "SEATS B", "+SEATS capacity=1 booked=0 free=1 waiting=0 refused=0 offered=0")
    }

    /// A crash between a move's two steps leaves a holder placed twice by one round (booked at
    /// its better choice and still at the worse one): a restart keeps the better place, releases
    /// the worse, and gives that seat to the worse provider's waitlist. Providers with no tags
    /// and no one waiting are loaded as they were.
    func testAHolderPlacedTwiceByACrashKeepsTheBetterPlaceAfterARestart() throws {
        try startStack(["--offer-ttl", "0"])
        let client = try connect()
        try expect(client, "PROVIDER A 1", "+OK")
        try expect(client, "PROVIDER B 1", "+OK")
        for index in 0..<20 { try expect(client, "PROVIDER quiet\(index) 2", "+OK") }
        try expect(client, "BOOK quiet0 q", "+BOOKED 1")
        try expect(client, "ROUND OPEN r \(commitment("seed"))", "+OK")
        try expect(client, "APPLY r h1 A B", "+APPLIED 2")
        try expect(client, "APPLY r h2 A B", "+APPLIED 2")
        try expect(client, "ROUND CLOSE r", "+CLOSED 2")
        try expect(client, "ROUND DRAW r seed", prefix: "+DRAWN ")
        let first = try client.request("RESULT r h1").hasPrefix("+BOOKED A 1") ? "h1" : "h2"
        let second = first == "h1" ? "h2" : "h1"
        try expect(client, "RESULT r \(second)", "+BOOKED B 2")
        try expect(client, "CANCEL A \(first)", "+CANCELLED 0")
        let moved = poll(timeout: 5) { () -> Bool? in
            (try? client.request("RESULT r \(second)")) == "+BOOKED A 1" ? true : nil
        }
        XCTAssertEqual(moved, true, "the move up did not happen")
        kezekd.kill9()
        // As if the move's release at B had not reached Redis; and a holder waits at B.
        for command in [
            ["SADD", "kezek:{B}:booked", second], ["HSET", "kezek:{B}:rounds", second, "r 2"],
            ["ZADD", "kezek:{B}:waiting", "100", "w"],
        ] { _ = try redis.cli(command) }
        try kezekd.start()
        let again = try connect()
        try expect(again, "RESULT r \(second)", "+BOOKED A 1")
        try expect(again, "STATUS A \(second)", "+BOOKED")
        try expect(again, "STATUS B \(second)", "+NONE")
        try expect(again, "STATUS B w", "+BOOKED")
        try expect(again, "SEATS B", prefix: "+SEATS capacity=1 booked=1 free=0 waiting=0 ")
        try expect(again, "STATUS quiet0 q", "+BOOKED")
        try expect(again, "SEATS quiet1", prefix: "+SEATS capacity=2 booked=0 free=2 waiting=0 ")
    }

    /// BOOK from a holder with an offer there takes the offered seat, as CONFIRM does.
    func testBookFromAnOfferedHolderTakesTheOffer() throws {
        try startStack(["--offer-ttl", "60"])
        let client = try connect()
        try expect(client, "PROVIDER p 2", "+OK")
        try expect(client, "ROUND OPEN r \(commitment("x"))", "+OK")
        try expect(client, "APPLY r kid p", "+APPLIED 1")
        try expect(client, "ROUND CLOSE r", "+CLOSED 1")
        try expect(client, "ROUND DRAW r x", "+DRAWN offered=1 waiting=0 unplaced=0")
        try expect(client, "STATUS p kid", prefix: "+OFFERED ")
        try expect(client, "BOOK p kid", "+BOOKED 1")
        try expect(client, "STATUS p kid", "+BOOKED")
        try expect(client, "RESULT r kid", "+BOOKED p 1")
        try expect(
            client, "SEATS p", "+SEATS capacity=2 booked=1 free=1 waiting=0 refused=0 offered=0")
        try expect(client, "CONFIRM p kid", "+NOTFOUND kid")
    }

    /// An applicant already at the holder limit takes no part in the draw (no lottery number):
    /// it counts as unplaced, not as waiting, and the seats go to the others.
    func testAnApplicantAtTheHolderLimitIsLeftOutOfTheDraw() throws {
        try startStack(["--holder-limit", "1", "--offer-ttl", "0"])
        let client = try connect()
        try expect(client, "PROVIDER early 1", "+OK")
        try expect(client, "PROVIDER p 1", "+OK")
        try expect(client, "PROVIDER q 1", "+OK")
        try expect(client, "BOOK early full", prefix: "+BOOKED")
        try expect(client, "ROUND OPEN r \(commitment("s"))", "+OK")
        try expect(client, "APPLY r full p q", "+APPLIED 2")
        try expect(client, "APPLY r ann p", "+APPLIED 1")
        try expect(client, "APPLY r bob q", "+APPLIED 1")
        try expect(client, "ROUND CLOSE r", "+CLOSED 3")
        try expect(client, "ROUND DRAW r s", "+DRAWN offered=2 waiting=0 unplaced=1")
        try expect(client, "RESULT r full", "+UNPLACED")
        try expect(client, "RESULT r ann", "+BOOKED p 1")
        try expect(client, "RESULT r bob", "+BOOKED q 1")
        try expect(client, "SEATS p", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=0")
    }

    func testOfferExpiryIsKeptAcrossACrash() throws {
        // Offers of 10 s: a kill -9, a restart and two reads must fit in them on a loaded machine.
        try startStack(["--offer-ttl", "10"])
        let client = try connect()
        try expect(client, "PROVIDER p 1", "+OK")
        try expect(client, "ROUND OPEN r \(commitment("x"))", "+OK")
        try expect(client, "APPLY r first p/2", "+APPLIED 1")
        try expect(client, "APPLY r second p", "+APPLIED 1")
        try expect(client, "ROUND CLOSE r", "+CLOSED 2")
        try expect(client, "ROUND DRAW r x", "+DRAWN offered=1 waiting=1 unplaced=1")
        try expect(client, "RESULT r first", prefix: "+OFFERED p 1 ")
        kezekd.kill9()
        try kezekd.start()
        let again = try connect()
        try expect(again, "RESULT r first", prefix: "+OFFERED p 1 ")
        try expect(again, "RESULT r second", "+WAITING p 1")
        // The expiry survived the restart: it passes to "second" about 10 s after the draw.
        let passed = poll(timeout: 20) { () -> Bool? in
            (try? again.request("RESULT r second")).map { $0.hasPrefix("+OFFERED p 1 ") } == true
                ? true : nil
        }
        XCTAssertEqual(passed, true)
        try expect(again, "RESULT r first", "+UNPLACED")
    }

    /// A draw keeps its tags as one field per provider (`#<round>`, RoundTagFields), not one
    /// per holder. A holder that leaves gets a "-" field of its own, which masks its entry:
    /// after it waits there again by BOOK … WAIT and the daemon is killed and restarted, it is
    /// not taken for the round's holder (the round would then count it placed there).
    func testTagsAreOneFieldPerProviderAndALeaverStaysUntagged() throws {
        try startStack(["--offer-ttl", "0"])
        let client = try connect()
        try expect(client, "PROVIDER p 2", "+OK")
        try expect(client, "ROUND OPEN r \(commitment("s"))", "+OK")
        for holder in ["ann", "bob", "cat"] {
            try expect(client, "APPLY r \(holder) p", "+APPLIED 1")
        }
        try expect(client, "ROUND CLOSE r", "+CLOSED 3")
        try expect(client, "ROUND DRAW r s", "+DRAWN offered=2 waiting=1 unplaced=1")
        let redisClient = try LineClient(port: redis.port)
        let fields = try redis.cli(["HKEYS", "kezek:{p}:rounds"]).split(separator: "\n")
        XCTAssertEqual(
            fields.filter { $0.hasPrefix("#") }, ["#r"], "one field for the draw's whole part here")
        let part = try redisClient.request(LineClient.resp(["HGET", "kezek:{p}:rounds", "#r"]))
        XCTAssertEqual(
            Set(
                part.dropFirst().split(separator: " ").enumerated().filter { $0.offset % 2 == 0 }
                    .map { String($0.element) }),
            ["ann", "bob", "cat"])
        let booked = try ["ann", "bob", "cat"].filter {
            try client.request("RESULT r \($0)") == "+BOOKED p 1"
        }
        XCTAssertEqual(booked.count, 2)
        let leaver = booked[0]
        let waiter = try XCTUnwrap(["ann", "bob", "cat"].first { !booked.contains($0) })
        try expect(client, "CANCEL p \(leaver)", prefix: "+CANCELLED ")
        try expect(client, "RESULT r \(waiter)", "+BOOKED p 1")
        try expect(client, "BOOK p \(leaver) WAIT", "+WAITING 1")
        try expect(client, "RESULT r \(leaver)", "+UNPLACED")
        let own = try redisClient.request(LineClient.resp(["HGET", "kezek:{p}:rounds", leaver]))
        XCTAssertEqual(own, "$-")
        kezekd.kill9()
        try kezekd.start()
        let again = try connect()
        try expect(again, "RESULT r \(leaver)", "+UNPLACED")
        try expect(again, "STATUS p \(leaver)", "+WAITING 1")
        for holder in booked.dropFirst() + [waiter] {
            try expect(again, "RESULT r \(holder)", "+BOOKED p 1")
        }
    }

    /// A draw's waitlist places are one field of the provider's tags hash (`~<first score>`),
    /// not a sorted-set member each (RoundTagFields). Leaving such a place masks it there, a
    /// place taken again by BOOK … WAIT goes to the sorted set, and a promotion takes the head:
    /// after each step and kill -9, a restart serves every holder's standing as before.
    func testADrawsWaitlistPlacesSurviveLeavingWaitingAgainPromotionAndRestarts() throws {
        try startStack(["--offer-ttl", "0"])
        let client = try connect()
        let applicants = (0..<6).map { "a\($0)" }
        try expect(client, "PROVIDER p 2", "+OK")
        try expect(client, "ROUND OPEN r \(commitment("s"))", "+OK")
        for holder in applicants { try expect(client, "APPLY r \(holder) p", "+APPLIED 1") }
        try expect(client, "ROUND CLOSE r", "+CLOSED 6")
        try expect(client, "ROUND DRAW r s", "+DRAWN offered=2 waiting=4 unplaced=4")
        let redisClient = try LineClient(port: redis.port)
        XCTAssertEqual(
            try redisClient.request(LineClient.resp(["ZCARD", "kezek:{p}:waiting"])), ":0",
            "no sorted-set member per place")
        let placesFields = try redis.cli(["HKEYS", "kezek:{p}:rounds"]).split(separator: "\n")
            .filter { $0.hasPrefix("~") && $0 != "~" }
        XCTAssertEqual(placesFields.count, 1)
        // The waiters in their order, and the two booked.
        func standing(_ c: LineClient) throws -> [String] {
            try c.pipeline(applicants.map { "STATUS p \($0)" })
        }
        func waiters(_ c: LineClient) throws -> [String] {
            let lines = try standing(c)
            return zip(applicants, lines).filter { $0.1.hasPrefix("+WAITING") }
                .sorted { $0.1 < $1.1 }.map(\.0)
        }
        func restartServesTheSame(_ before: [String], _ step: String) throws -> LineClient {
            kezekd.kill9()
            try kezekd.start()
            let again = try connect()
            XCTAssertEqual(try standing(again), before, "after kill -9 (\(step))")
            return again
        }
        var order = try waiters(client)
        XCTAssertEqual(order.count, 4)
        var current = try restartServesTheSame(try standing(client), "the draw")
        // The second waiter leaves, then waits again: last, by the sorted set.
        let second = order[1]
        try expect(current, "CANCEL p \(second)", "+CANCELLED 0")
        current = try restartServesTheSame(try standing(current), "a place left")
        XCTAssertEqual(try waiters(current), order.filter { $0 != second })
        try expect(current, "BOOK p \(second) WAIT", "+WAITING 4")
        order = order.filter { $0 != second } + [second]
        current = try restartServesTheSame(try standing(current), "waiting again")
        XCTAssertEqual(try waiters(current), order)
        // A booked holder cancels: the head of the waitlist is booked.
        let booked = try XCTUnwrap(
            zip(applicants, try standing(current)).first { $0.1.hasPrefix("+BOOKED") }?.0)
        try expect(current, "CANCEL p \(booked)", prefix: "+CANCELLED ")
        try expect(current, "STATUS p \(order[0])", "+BOOKED")
        current = try restartServesTheSame(try standing(current), "a promotion")
        XCTAssertEqual(try waiters(current), Array(order.dropFirst()))
        // A newcomer waits after everyone, also across a restart.
        try expect(current, "BOOK p late WAIT", "+WAITING 4")
        kezekd.kill9()
        try kezekd.start()
        try expect(try connect(), "STATUS p late", "+WAITING 4")
    }

    /// ROUND DRAW waits `draw-timeout` for Redis, not `write-timeout` (a BOOK's wait): a draw
    /// at 10x the city is millions of writes. Redis frozen for 3 s under the default 2 s write
    /// timeout (a shorter one would also bind the set-up's writes on a loaded machine): the
    /// build before answered -UNAVAILABLE once the write timeout passed.
    func testDrawWaitsItsOwnTimeoutNotABooksOne() throws {
        try startStack(["--offer-ttl", "60", "--draw-timeout", "30"])
        let client = try connect()
        try expect(client, "PROVIDER p 1", "+OK")
        try expect(client, "ROUND OPEN r \(commitment("s"))", "+OK")
        try expect(client, "APPLY r ann p", "+APPLIED 1")
        try expect(client, "APPLY r bob p", "+APPLIED 1")
        try expect(client, "ROUND CLOSE r", "+CLOSED 2")
        redis.pause()
        try client.send("ROUND DRAW r s\r\n")
        pause(3.0)
        redis.resume()
        let reply = try client.readReply(timeout: 30)
        XCTAssertEqual(reply, "+DRAWN offered=1 waiting=1 unplaced=1")
        try expect(
            client, "SEATS p", "+SEATS capacity=1 booked=0 free=0 waiting=1 refused=0 offered=1")
    }

    /// A crash between the draw's steps: Redis holds the record and part of the placements,
    /// the round is still `drawing`. DRAW sent again finishes it with the same result.
    func testDrawCutShortByACrashIsFinishedBySendingItAgain() throws {
        try startStack(["--offer-ttl", "600"])
        let client = try connect()
        let plan = Plan(applicants: 1_500, providers: 25, choices: 3, seed: 7)
        try openRound(client, plan, seed: "s")
        try expect(client, "ROUND DRAW big s", prefix: "+DRAWN ")
        kezekd.kill9()
        // Put Redis back to the middle of step 2: round `drawing`, half the providers' parts lost.
        let redisClient = try LineClient(port: redis.port)
        XCTAssertEqual(
            try redisClient.request(LineClient.resp(["HSET", "kezek:rounds", "big", "drawing"])),
            ":0")
        for provider in plan.providers.keys.sorted().enumerated().filter({ $0.offset % 2 == 0 })
            .map(\.element)
        {
            let reply = try redisClient.request(
                LineClient.resp([
                    "DEL", "kezek:{\(provider)}:offers", "kezek:{\(provider)}:rounds",
                    "kezek:{\(provider)}:waiting",
                ]))
            XCTAssertTrue(reply.hasPrefix(":"), reply)
        }
        try kezekd.start()
        let again = try connect()
        try expect(again, "BOOK club0 walkin", "+ROUND big")
        try expect(again, "ROUND STATUS big", prefix: "+ROUND big state=closed")
        let drawn = try again.request("ROUND DRAW big s", timeout: 60)
        XCTAssertTrue(drawn.hasPrefix("+DRAWN "), drawn)
        try checkResults(again, plan, seed: "s", offers: true)
        try expect(again, "ROUND STATUS big", prefix: "+ROUND big state=drawn")
    }

    /// kill -9 while a large draw is being written, then DRAW again: the same result as an
    /// independent computation, whatever instant the crash hit.
    func testSigkillDuringADrawThenDrawAgain() throws {
        try startStack(["--offer-ttl", "600"])
        let client = try connect()
        let plan = Plan(applicants: 6_000, providers: 60, choices: 4, seed: 99)
        try openRound(client, plan, seed: "coin")
        try client.send("ROUND DRAW big coin\r\n")
        pause(0.02)
        kezekd.kill9()
        try kezekd.start(timeout: 20)
        let again = try connect()
        let drawn = try again.request("ROUND DRAW big coin", timeout: 60)
        XCTAssertTrue(drawn.hasPrefix("+DRAWN "), drawn)
        try checkResults(again, plan, seed: "coin", offers: true)
    }
}
