import Foundation
import XCTest
import KezekTestSupport

/// Real Redis clients at their defaults against a real kezekd (issue 10): redis-py 8 from
/// PyPI (scripts/ensure-pyclients.sh puts it in .build/pyenv), Debian's redis-cli and
/// redis-benchmark, and the compatibility commands' shapes byte for byte.
final class RedisClientTests: IntegrationTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent()
        .deletingLastPathComponent()
    static var python: String { packageRoot.appendingPathComponent(".build/pyenv/bin/python").path }

    private func requirePython() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw TestSetupError(
                "no redis-py environment at \(Self.python): run scripts/ensure-pyclients.sh (make test does)"
            )
        }
        return Self.python
    }

    /// Starts kezekd with a token and runs one of Tests/clients' redis-py scripts against it
    /// (`SCRIPT PORT TOKEN`); fails the test unless every check of the script passed.
    private func runRedisPyChecks(
        _ script: String, file: StaticString = #filePath, line: UInt = #line
    ) throws -> String {
        let python = try requirePython()
        try startStack(["--token", "sekret"])
        let path = Self.packageRoot.appendingPathComponent("Tests/clients/\(script)").path
        let result = try runProgram(python, [path, "\(kezekd.port)", "sekret"], timeout: 60)
        XCTAssertEqual(
            result.status, 0, "\(script) failed:\n\(result.stdout)\n\(result.stderr)", file: file,
            line: line)
        return result.stdout
    }

    // MARK: redis-py

    func testRedisPyAtItsDefaults() throws {
        let output = try runRedisPyChecks("redis_py_check.py")
        XCTAssertTrue(output.contains("redis-py 8."), output)
        // The client name shows in log lines about that connection.
        let client = try connect()
        try expect(client, "AUTH default sekret", "+OK")
        try expect(client, "CLIENT SETNAME name-in-logs", "+OK")
        try client.send(LineClient.resp(["*5"]) + "*x\r\n")
        _ = client.readUntilClosed(timeout: 5)
        let logged = poll(timeout: 5) { () -> Bool? in
            ((try? String(contentsOfFile: self.kezekd.stderrPath, encoding: .utf8)) ?? "").contains(
                "(name-in-logs)") ? true : nil
        }
        XCTAssertEqual(logged, true, "no log line names the client")
    }

    /// redis-py's cluster client: CLUSTER SLOTS says this node serves every slot, COMMAND says
    /// which argument is the key, and BOOK/STATUS/SEATS are routed by the provider's slot.
    func testRedisPyClusterClientRoutesByProvider() throws {
        let output = try runRedisPyChecks("redis_py_cluster_check.py")
        XCTAssertEqual(
            output.split(separator: "\n").filter { $0.hasPrefix("ok  ") }.count, 7, output)
    }

    /// CLUSTER KEYSLOT gives the slot a real Redis Cluster node gives, hash tags included.
    func testClusterKeyslotMatchesRedis() throws {
        try startStack()
        let clustered = try RedisServerProcess(
            directory: directory.appendingPathComponent("clustered"))
        // An explicit bus port: by default it is the port plus 10,000, too high for most free ports.
        clustered.extraArguments = [
            "--cluster-enabled", "yes", "--cluster-port", "\(freePort())",
            "--cluster-config-file", directory.appendingPathComponent("nodes.conf").path,
        ]
        try clustered.start()
        defer { clustered.stop() }
        let keys =
            [
                "club", "{a}b", "a{}b", "x{y}z{w}", "open{", "}{", "{}", "almaty.sport-42", "üñï",
                "a b",
            ]
            + (0..<200).map { "provider-\($0 * 7919)" }
        let client = try connect()
        for key in keys {
            try client.send(LineClient.resp(["CLUSTER", "KEYSLOT", key]))
            let ours = try client.readReply()
            let theirs = try clustered.cli(["CLUSTER", "KEYSLOT", key]).trimmingCharacters(
                in: .whitespacesAndNewlines)
            XCTAssertEqual(ours, ":\(theirs)", "slot of \(key)")
        }
        try expect(client, "CLUSTER NOSUCH", prefix: "-ERR unknown subcommand")
        try expect(client, "CLUSTER KEYSLOT", prefix: "-ERR wrong number of arguments")
    }

    /// -UNAVAILABLE and -LOADING reach redis-py as its exceptions.
    func testRedisPyRaisesUnavailableAndLoading() throws {
        let python = try requirePython()
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER gym 5", "+OK")
        redis.kill9()
        let unavailable = """
            import redis, sys
            r = redis.Redis(port=\(kezekd.port), decode_responses=True)
            try:
                r.execute_command("BOOK", "gym", "x")
            except redis.ResponseError as error:
                print(type(error).__name__, error); sys.exit(0 if "UNAVAILABLE" in str(error) else 1)
            sys.exit(2)
            """
        let first = try runProgram(python, ["-c", unavailable], timeout: 30)
        XCTAssertEqual(first.status, 0, first.stdout + first.stderr)
        kezekd.terminate()
        // Redis down at start: kezekd listens but is loading.
        kezekd = KezekdProcess(redisPort: redis.port, logDirectory: directory)
        try kezekd.start(waitUntilHealthy: false)
        let loading = """
            import redis, sys
            r = redis.Redis(port=\(kezekd.port))
            try:
                r.execute_command("SEATS", "gym")
            except redis.exceptions.BusyLoadingError as error:
                print(type(error).__name__, error); sys.exit(0)
            sys.exit(2)
            """
        let second = try runProgram(python, ["-c", loading], timeout: 30)
        XCTAssertEqual(second.status, 0, second.stdout + second.stderr)
    }

    /// Starts kezekd with a token and runs `interpreter` on one of Tests/clients' scripts
    /// (`SCRIPT PORT TOKEN`); fails the test unless every check of the script passed.
    private func runClientChecks(
        _ interpreter: String, _ script: String, installedBy packages: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        guard FileManager.default.isExecutableFile(atPath: interpreter) else {
            throw TestSetupError(
                "no \(interpreter): install \(packages) (scripts/ensure-deps.sh does)")
        }
        try startStack(["--token", "sekret"])
        let path = Self.packageRoot.appendingPathComponent("Tests/clients/\(script)").path
        let result = try runProgram(interpreter, [path, "\(kezekd.port)", "sekret"], timeout: 60)
        XCTAssertEqual(
            result.status, 0, "\(script) failed:\n\(result.stdout)\n\(result.stderr)", file: file,
            line: line)
    }

    /// Debian's Perl client (libredis-perl, installed by scripts/ensure-deps.sh).
    func testPerlRedisAtItsDefaults() throws {
        try runClientChecks("/usr/bin/perl", "perl_redis_check.pl", installedBy: "libredis-perl")
    }

    // MARK: redis-tools

    func testRedisCliResp3UserAndPipe() throws {
        try startStack(["--token", "sekret"])
        let cli = RedisServerProcess.cliPath
        let base = [
            "-h", "127.0.0.1", "-p", "\(kezekd.port)", "--user", "default", "--pass", "sekret",
            "--no-auth-warning",
        ]
        let provider = try runProgram(cli, base + ["-3", "PROVIDER", "cli-club", "20000"])
        XCTAssertEqual(provider.stdout, "OK\n", provider.stderr)
        let booked = try runProgram(cli, base + ["-3", "BOOK", "cli-club", "first"])
        XCTAssertEqual(booked.stdout, "BOOKED 19999\n", booked.stderr)
        // --pipe sends everything, then an ECHO marker, and exits 0 once the marker is back.
        let commands = directory.appendingPathComponent("pipe.txt")
        var text = ""
        for index in 0..<10_000 { text += LineClient.resp(["BOOK", "cli-club", "p\(index)"]) }
        try text.write(to: commands, atomically: true, encoding: .utf8)
        let pipe = try runProgram(
            "/bin/sh", ["-c", "\(cli) \(base.joined(separator: " ")) --pipe < \(commands.path)"],
            timeout: 60)
        XCTAssertEqual(pipe.status, 0, pipe.stdout + pipe.stderr)
        XCTAssertTrue(pipe.stdout.contains("errors: 0, replies: 10000"), pipe.stdout)
        let seats = try runProgram(cli, base + ["SEATS", "cli-club"])
        XCTAssertEqual(
            seats.stdout, "SEATS capacity=20000 booked=10001 free=9999 waiting=0 refused=0\n")
    }

    func testRedisBenchmarkWithoutWarnings() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER bench 100000", "+OK")
        let result = try runProgram(
            "/usr/bin/redis-benchmark",
            [
                "-h", "127.0.0.1", "-p", "\(kezekd.port)", "-n", "2000", "-q", "BOOK", "bench",
                "__rand_int__",
            ],
            timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse(
            (result.stdout + result.stderr).contains("WARNING"), result.stdout + result.stderr)
        XCTAssertTrue(result.stdout.contains("requests per second"), result.stdout)
    }

    // MARK: Shapes

    func testHelloInBothProtocols() throws {
        try startStack()
        let client = try connect()
        try client.send("HELLO 2\r\n")
        XCTAssertEqual(try client.readLine(), "*14")
        var fields: [String] = []
        for _ in 0..<13 { fields.append(try client.readReply()) }
        XCTAssertEqual(
            Array(fields.prefix(6)), ["$server", "$kezek", "$version", "$7.0.0", "$proto", ":2"])
        XCTAssertEqual(
            Array(fields.suffix(7)).filter { $0.hasPrefix("$") },
            ["$id", "$mode", "$standalone", "$role", "$master", "$modules"])
        XCTAssertEqual(try client.readLine(), "*0", "modules: an empty array")
        try client.send("HELLO 3 SETNAME shapes\r\n")
        XCTAssertEqual(try client.readLine(), "%7")
        XCTAssertEqual(try client.readReply(), "$server")
        XCTAssertEqual(try client.readReply(), "$kezek")
        for _ in 0..<12 { _ = try client.readReply() }
        // Booking replies are the same lines in RESP3.
        try expect(client, "PROVIDER r3 1", "+OK")
        try expect(client, "BOOK r3 a", "+BOOKED 0")
        try expect(client, "CLIENT GETNAME", "$shapes")
        try expect(client, "HELLO 4", "-NOPROTO unsupported protocol version")
        try expect(
            client, "CLIENT SETNAME", "-ERR wrong number of arguments for 'client|setname' command")
    }

    func testHelloNeedsAuthenticationWhenATokenIsSet() throws {
        try startStack(["--token", "sekret"])
        let client = try connect()
        try expect(
            client, "HELLO 3",
            prefix: "-NOAUTH HELLO must be called with the client already authenticated")
        try expect(client, "HELLO 3 AUTH default wrong", "-WRONGPASS invalid token")
        try client.send("HELLO 3 AUTH default sekret\r\n")
        XCTAssertEqual(try client.readLine(), "%7")
    }

    func testMultiIsRefusedAndNothingRunsUntilExecOrDiscard() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER tx 3", "+OK")
        try expect(client, "MULTI", "-ERR MULTI is not supported")
        try expect(client, "BOOK tx a", prefix: "-ERR command not run")
        try expect(client, "MULTI", "-ERR MULTI calls can not be nested")
        try expect(client, "EXEC", "-EXECABORT Transaction discarded because of previous errors.")
        try expect(client, "STATUS tx a", "+NONE")
        try expect(client, "MULTI", "-ERR MULTI is not supported")
        try expect(client, "CANCEL tx a", prefix: "-ERR command not run")
        try expect(client, "DISCARD", "+OK")
        try expect(client, "BOOK tx a", "+BOOKED 2")
        try expect(client, "EXEC", "-ERR EXEC without MULTI")
        try expect(client, "DISCARD", "-ERR DISCARD without MULTI")
    }

    func testSmallCompatibilityCommands() throws {
        try startStack()
        let client = try connect()
        try expect(client, "SELECT 0", "+OK")
        try expect(client, "SELECT 1", "-ERR DB index is out of range")
        try expect(client, "ECHO marker", "$marker")
        try expect(client, "CLIENT GETNAME", "$-1")
        try client.send(LineClient.resp(["CLIENT", "SETNAME", "bad name"]))
        XCTAssertEqual(
            try client.readLine(),
            "-ERR Client names cannot contain spaces, newlines or special characters.")
        try expect(client, "CLIENT SETINFO lib-name kezek-tests", "+OK")
        try expect(client, "CLIENT ID", prefix: ":")
        try expect(client, "CLIENT KILL 127.0.0.1:1", "-ERR No such client")
        try expect(client, "CLIENT NOSUCH x", prefix: "-ERR unknown subcommand 'NOSUCH'")
        try expect(client, "LATENCY LATEST", "*0")
        try expect(client, "LATENCY NOSUCH", prefix: "-ERR unknown subcommand 'NOSUCH'")
        try expect(client, "COMMAND COUNT", ":\(21)")
        try expect(client, "BOOK", "-ERR wrong number of arguments for 'book' command")
        try client.send("CONFIG GET save appendonly\r\n")
        XCTAssertEqual(try client.readLine(), "*4")
        XCTAssertEqual(
            [
                try client.readReply(), try client.readReply(), try client.readReply(),
                try client.readReply(),
            ],
            ["$save", "$", "$appendonly", "$no"])
        try client.send("CONFIG GET nothing-matches\r\n")
        XCTAssertEqual(try client.readLine(), "*0")
        try client.send("INFO clients\r\n")
        XCTAssertEqual(try client.readLine().hasPrefix("$"), true)
        XCTAssertEqual(try client.readLine(), "# Clients")
        XCTAssertEqual(try client.readLine().hasPrefix("connected_clients:"), true)
    }

    /// CLIENT LIST and CLIENT KILL see every connection of the daemon, whatever loop thread
    /// it is on, and need the admin token when both tokens are set.
    func testClientListAndKillAcrossThreadsNeedTheAdminToken() throws {
        try startStack(["--token", "c", "--admin-token", "a"])
        let user = try connect()
        try expect(user, "AUTH c", "+OK")
        try expect(user, "CLIENT SETNAME user-conn", "+OK")
        try expect(
            user, "CLIENT LIST", "-NOPERM this connection is not allowed to run 'client|list'")
        try expect(
            user, "CLIENT KILL ID 1", "-NOPERM this connection is not allowed to run 'client|kill'")
        try user.send("CLIENT INFO\r\n")
        XCTAssertTrue(try user.readLine().hasPrefix("$"))
        let own = try user.readLine()
        XCTAssertTrue(own.contains(" name=user-conn "), own)
        let address = try XCTUnwrap(
            own.split(separator: " ").first { $0.hasPrefix("addr=") }?.dropFirst(5))
        // Connections land on both loop threads; the admin sees and closes them all.
        let others = try (0..<6).map { _ in try connect() }
        for other in others { try expect(other, "PING", "+PONG") }
        let admin = try connect()
        try expect(admin, "AUTH a", "+OK")
        try admin.send("CLIENT LIST\r\n")
        _ = try admin.readLine()
        var listed: [String] = []
        while listed.count < 8 { listed.append(try admin.readLine()) }
        XCTAssertEqual(try admin.readLine(), "", "more connections listed than open")
        XCTAssertTrue(listed.allSatisfy { $0.hasPrefix("id=") }, "\(listed)")
        XCTAssertEqual(listed.filter { $0.contains(" name=user-conn ") }.count, 1)
        try expect(admin, "CLIENT KILL \(address)", "+OK")
        XCTAssertTrue(
            user.isClosedByPeer(timeout: 5), "CLIENT KILL <addr> left the connection open")
        try expect(admin, "CLIENT KILL \(address)", "-ERR No such client")
        try expect(admin, "CLIENT KILL SKIPME yes", ":6")
        for other in others {
            XCTAssertTrue(other.isClosedByPeer(timeout: 5), "CLIENT KILL left a connection open")
        }
        try expect(admin, "PING", "+PONG")
        try expect(admin, "CLIENT KILL ID 0", "-ERR client-id should be greater than 0")
    }

    // MARK: phpredis, redis_exporter, reply styles

    /// Debian's phpredis (php-redis, installed by scripts/ensure-deps.sh): with `CLIENT
    /// REPLY-STYLE bulk` a PHP gateway tells every outcome apart, in a pipeline too.
    func testPhpRedisTellsEveryOutcomeApartInAPipeline() throws {
        try runClientChecks(
            "/usr/bin/php", "php_redis_check.php", installedBy: "php-cli and php-redis")
    }

    /// `reply-style bulk` for the whole daemon; `CLIENT REPLY-STYLE` per connection either way.
    /// Errors and the Redis commands' own replies keep their shapes.
    func testReplyStyleSendsOutcomesAsBulkStrings() throws {
        try startStack(["--reply-style", "bulk"])
        let client = try connect()
        try expect(client, "PROVIDER rs 1", "$OK")
        try expect(client, "BOOK rs a", "$BOOKED 0")
        try expect(client, "BOOK rs b", "$FULL rs")
        try expect(client, "BOOK nowhere a", "-NOPROVIDER nowhere")
        try expect(client, "PING", "+PONG")
        try expect(client, "CLIENT REPLY-STYLE simple", "+OK")
        try expect(client, "STATUS rs a", "+BOOKED")
        try expect(client, "CLIENT REPLY-STYLE loud", prefix: "-ERR syntax error")
        try expect(try connect(), "STATUS rs b", "$NONE")
    }

    /// redis_exporter (Debian's prometheus-redis-exporter) scrapes kezekd and logs no error:
    /// it asks LATENCY LATEST, INFO, CONFIG GET, CLIENT LIST and more at every scrape.
    func testRedisExporterScrapesWithoutAnError() throws {
        try startStack(["--token", "sekret"])
        let exporter = try RedisExporter(
            directory: directory,
            arguments: [
                "-redis.addr", "redis://127.0.0.1:\(kezekd.port)", "-redis.password", "sekret",
            ])
        let scraped = exporter.firstScrape()
        XCTAssertTrue(scraped?.contains("\nredis_up 1") == true, scraped ?? "no scrape")
        _ = try exporter.scrape()
        let (log, complaints) = exporter.stop()
        XCTAssertEqual(complaints, [], log)
    }
}
