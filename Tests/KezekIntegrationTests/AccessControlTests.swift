import Foundation
import XCTest
import KezekTestSupport

/// ACL users (issue 28): `user NAME … +@gateway` lines in an acl-file, AUTH with a user name,
/// ACL WHOAMI, -NOPERM outside a user's categories, the tokens as the default and admin
/// users, SIGHUP reloading the file, and failed AUTHs throttled per client address.
final class AccessControlTests: IntegrationTestCase {
    private func aclFile(_ lines: [String]) throws -> String {
        let path = directory.appendingPathComponent("users.acl").path
        try (lines.joined(separator: "\n") + "\n").write(
            toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    func testUsersGetTheirCategoriesAndNothingElse() throws {
        let path = try aclFile([
            "# a comment, then the users",
            "user gateway on >gw-secret +@gateway",
            "user scraper on >scrape-secret +@monitor",
            "user ops on #" + sha256Hex("ops-secret") + " +@all -client|kill",
            "user retired off >old-secret +@all",
        ])
        try startStack([
            "--token", "client-secret", "--admin-token", "admin-secret", "--acl-file", path,
        ])
        let admin = try connect()
        try expect(admin, "AUTH admin-secret", "+OK")
        try expect(admin, "ACL WHOAMI", "$admin")
        try expect(admin, "PROVIDER pool 3", "+OK")

        let gateway = try connect()
        try expect(gateway, "BOOK pool g1", "-NOAUTH Authentication required.")
        try expect(gateway, "AUTH gateway wrong", "-WRONGPASS invalid token")
        try expect(gateway, "AUTH gateway gw-secret", "+OK")
        try expect(gateway, "ACL WHOAMI", "$gateway")
        for request in [
            "BOOK pool g1", "STATUS pool g1", "SEATS pool", "CANCEL pool g1", "DEMAND pool",
        ] {
            XCTAssertFalse(try gateway.request(request).hasPrefix("-NOPERM"), request)
        }
        try expect(gateway, "PING", "+PONG")
        try expect(gateway, "HEALTH", prefix: "+OK")
        try expect(gateway, "INFO", "-NOPERM this connection is not allowed to run 'info'")
        try expect(
            gateway, "PROVIDER pool 9", "-NOPERM this connection is not allowed to run 'provider'")
        try expect(
            gateway, "ROUND OPEN r1 " + String(repeating: "a", count: 64),
            "-NOPERM this connection is not allowed to run 'round'")
        try expect(
            gateway, "CLIENT LIST", "-NOPERM this connection is not allowed to run 'client|list'")
        try expect(gateway, "CLIENT SETNAME gw-1", "+OK")
        try expect(gateway, "ACL LIST", "-NOPERM this connection is not allowed to run 'acl'")

        let scraper = try connect()
        try expect(scraper, "AUTH scraper scrape-secret", "+OK")
        try expect(scraper, "BOOK pool s1", "-NOPERM this connection is not allowed to run 'book'")
        try expect(scraper, "SEATS pool", "-NOPERM this connection is not allowed to run 'seats'")
        try expect(scraper, "CONFIG GET maxclients", "*2")
        XCTAssertEqual(try scraper.readReply(), "$maxclients")
        XCTAssertEqual(try scraper.readReply(), "$10000")
        try scraper.send("CLIENT LIST\r\n")
        XCTAssertTrue(try scraper.readLine().hasPrefix("$"))
        let listed = try scraper.readLine()
        XCTAssertTrue(listed.hasPrefix("id="), "CLIENT LIST began with '\(listed)'")
        let scraperInfo = try connect()
        try expect(scraperInfo, "AUTH scraper scrape-secret", "+OK")
        try scraperInfo.send("INFO kezek\r\n")
        XCTAssertTrue(try scraperInfo.readLine().hasPrefix("$"))

        let ops = try connect()
        try expect(ops, "AUTH ops ops-secret", "+OK")
        try expect(ops, "PROVIDER pool 4", "+OK")
        try expect(
            ops, "CLIENT KILL ID 999999",
            "-NOPERM this connection is not allowed to run 'client|kill'")

        try expect(try connect(), "AUTH retired old-secret", "-WRONGPASS invalid token")
        try expect(try connect(), "AUTH nobody x", "-WRONGPASS invalid token")
        // The tokens are the default and admin users, by name too, and HELLO takes them.
        let byName = try connect()
        try expect(byName, "AUTH default client-secret", "+OK")
        try expect(
            byName, "PROVIDER pool 5", "-NOPERM this connection is not allowed to run 'provider'")
        try expect(byName, "INFO server", prefix: "$")
        let hello = try connect()
        try hello.send("HELLO 3 AUTH admin admin-secret\r\n")
        XCTAssertEqual(try hello.readLine(), "%7")
        try admin.send("ACL USERS\r\n")
        XCTAssertEqual(try admin.readLine(), "*6")
        var names: [String] = []
        for _ in 0..<6 { _ = try admin.readLine(); names.append(try admin.readLine()) }
        XCTAssertEqual(names, ["admin", "default", "gateway", "ops", "retired", "scraper"])
        // CLIENT LIST names each connection's user.
        try admin.send("CLIENT LIST\r\n")
        _ = try admin.readLine()
        var lines: [String] = []
        while let line = try? admin.readLine(timeout: 1), lines.count < 50 { lines.append(line) }
        XCTAssertEqual(
            lines.filter { $0.contains(" name=gw-1 ") && $0.contains(" user=gateway ") }.count, 1,
            "\(lines)")
    }

    /// Redis's default: with no token the default user is `nopass`; an acl-file may turn it off.
    func testDefaultUserOffRefusesUnauthenticatedClients() throws {
        let path = try aclFile(["user default off", "user gate on >pw +@gateway"])
        try startStack(["--acl-file", path])
        let client = try connect()
        try expect(client, "SEATS x", "-NOAUTH Authentication required.")
        try expect(client, "AUTH pw", "-WRONGPASS invalid token")
        try expect(client, "AUTH gate pw", "+OK")
        try expect(client, "SEATS x", "-NOPROVIDER x")
    }

    /// SIGHUP reads the acl-file again: a new user can sign in, a removed one cannot; a file
    /// with an error leaves the users as they were.
    func testSighupReloadsTheAclFile() throws {
        let path = try aclFile(["user first on >one +@gateway"])
        try startStack(["--token", "t", "--acl-file", path])
        try expect(try connect(), "AUTH first one", "+OK")
        _ = try aclFile(["user second on >two +@monitor"])
        kezekd.process?.send(signal: SIGHUP)
        let reloaded = poll(timeout: 5) { () -> Bool? in
            (try? self.connect().request("AUTH second two")) == "+OK" ? true : nil
        }
        XCTAssertEqual(reloaded, true)
        try expect(try connect(), "AUTH first one", "-WRONGPASS invalid token")
        _ = try aclFile(["user third on >three +@nosuch"])
        kezekd.process?.send(signal: SIGHUP)
        let logged = poll(timeout: 5) { () -> Bool? in
            ((try? String(contentsOfFile: self.kezekd.stderrPath, encoding: .utf8)) ?? "").contains(
                "unknown category '@nosuch'") ? true : nil
        }
        XCTAssertEqual(logged, true, "the bad file was not reported")
        try expect(try connect(), "AUTH second two", "+OK")
        try expect(try connect(), "PING", "+PONG")
    }

    /// A bad acl-file stops kezekd at start with a one-line error naming the line.
    func testBadAclFileIsRefusedAtStart() throws {
        let path = try aclFile(["user ok on >x +@gateway", "user bad on >y ~keys:*"])
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        let result = try runProgram(
            KezekdProcess.binaryPath,
            [
                "--redis", "127.0.0.1:\(redis.port)", "--listen", "127.0.0.1:\(freePort())",
                "--admin-listen", "127.0.0.1:\(freePort())", "--public-listen",
                "127.0.0.1:\(freePort())",
                "--acl-file", path,
            ], timeout: 10)
        XCTAssertEqual(result.status, 2)
        XCTAssertTrue(
            result.stderr.contains("acl-file \(path) line 2: key and channel patterns"),
            result.stderr)
    }

    /// Failed AUTHs count per client address across connections: past the limit every AUTH
    /// from that address is refused unchecked, the right password too, until the window ends.
    func testFailedAuthsAreThrottledPerAddress() throws {
        try startStack([
            "--token", "right", "--auth-address-max-failures", "4", "--auth-address-window", "5",
            "--auth-failure-delay", "0",
        ])
        for _ in 0..<4 { try expect(try connect(), "AUTH wrong", "-WRONGPASS invalid token") }
        let refused =
            "-ERR too many failed AUTH attempts from this address: retry after auth-address-window seconds"
        try expect(try connect(), "AUTH right", refused)
        try expect(try connect(), "HELLO 3 AUTH default right", refused)
        Thread.sleep(forTimeInterval: 5.2)
        try expect(try connect(), "AUTH right", "+OK")
    }

    private func sha256Hex(_ text: String) -> String {
        let result = try? runProgram(
            "/bin/sh", ["-c", "printf %s '\(text)' | sha256sum"], timeout: 5)
        return String(result?.stdout.prefix(64) ?? "")
    }
}
