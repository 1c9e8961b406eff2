import Foundation
import XCTest

/// Real Redis clients at their defaults against a real kezekd (issue 10): redis-py 8 from
/// PyPI (scripts/ensure-pyclients.sh puts it in .build/pyenv), Debian's redis-cli and
/// redis-benchmark, and the compatibility commands' shapes byte for byte.
final class RedisClientTests: IntegrationTestCase {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var python: String { packageRoot.appendingPathComponent(".build/pyenv/bin/python").path }

    private func requirePython() throws -> String {
        guard FileManager.default.isExecutableFile(atPath: Self.python) else {
            throw TestSetupError("no redis-py environment at \(Self.python): run scripts/ensure-pyclients.sh (make test does)")
        }
        return Self.python
    }

    /// Starts kezekd with a token and runs one of Tests/clients' redis-py scripts against it
    /// (`SCRIPT PORT TOKEN`); fails the test unless every check of the script passed.
    private func runRedisPyChecks(_ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let python = try requirePython()
        try startStack(["--token", "sekret"])
        let path = Self.packageRoot.appendingPathComponent("Tests/clients/\(script)").path
        let result = try runProgram(python, [path, "\(kezekd.port)", "sekret"], timeout: 60)
        XCTAssertEqual(result.status, 0, "\(script) failed:\n\(result.stdout)\n\(result.stderr)", file: file, line: line)
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
            ((try? String(contentsOfFile: self.kezekd.stderrPath, encoding: .utf8)) ?? "").contains("(name-in-logs)") ? true : nil
        }
        XCTAssertEqual(logged, true, "no log line names the client")
    }

    /// redis-py's cluster client: CLUSTER SLOTS says this node serves every slot, COMMAND says
    /// which argument is the key, and BOOK/STATUS/SEATS are routed by the provider's slot.
    func testRedisPyClusterClientRoutesByProvider() throws {
        let output = try runRedisPyChecks("redis_py_cluster_check.py")
        XCTAssertEqual(output.split(separator: "\n").filter { $0.hasPrefix("ok  ") }.count, 7, output)
    }

    /// CLUSTER KEYSLOT gives the slot a real Redis Cluster node gives, hash tags included.
    func testClusterKeyslotMatchesRedis() throws {
        try startStack()
        let clustered = try RedisServerProcess(directory: directory.appendingPathComponent("clustered"))
        // An explicit bus port: by default it is the port plus 10,000, too high for most free ports.
        clustered.extraArguments = ["--cluster-enabled", "yes", "--cluster-port", "\(freePort())",
                                    "--cluster-config-file", directory.appendingPathComponent("nodes.conf").path]
        try clustered.start()
        defer { clustered.stop() }
        let keys = ["club", "{a}b", "a{}b", "x{y}z{w}", "open{", "}{", "{}", "almaty.sport-42", "üñï", "a b"]
            + (0..<200).map { "provider-\($0 * 7919)" }
        let client = try connect()
        for key in keys {
            try client.send(LineClient.resp(["CLUSTER", "KEYSLOT", key]))
            let ours = try client.readReply()
            let theirs = try clustered.cli(["CLUSTER", "KEYSLOT", key]).trimmingCharacters(in: .whitespacesAndNewlines)
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

    /// Debian's Perl client (libredis-perl, installed by scripts/ensure-deps.sh).
    func testPerlRedisAtItsDefaults() throws {
        try startStack(["--token", "sekret"])
        let script = Self.packageRoot.appendingPathComponent("Tests/clients/perl_redis_check.pl").path
        let result = try runProgram("/usr/bin/perl", [script, "\(kezekd.port)", "sekret"], timeout: 60)
        XCTAssertEqual(result.status, 0, "Perl Redis checks failed:\n\(result.stdout)\n\(result.stderr)")
    }

    // MARK: redis-tools

    func testRedisCliResp3UserAndPipe() throws {
        try startStack(["--token", "sekret"])
        let cli = RedisServerProcess.cliPath
        let base = ["-h", "127.0.0.1", "-p", "\(kezekd.port)", "--user", "default", "--pass", "sekret", "--no-auth-warning"]
        let provider = try runProgram(cli, base + ["-3", "PROVIDER", "cli-club", "20000"])
        XCTAssertEqual(provider.stdout, "OK\n", provider.stderr)
        let booked = try runProgram(cli, base + ["-3", "BOOK", "cli-club", "first"])
        XCTAssertEqual(booked.stdout, "BOOKED 19999\n", booked.stderr)
        // --pipe sends everything, then an ECHO marker, and exits 0 once the marker is back.
        let commands = directory.appendingPathComponent("pipe.txt")
        var text = ""
        for index in 0..<10_000 { text += LineClient.resp(["BOOK", "cli-club", "p\(index)"]) }
        try text.write(to: commands, atomically: true, encoding: .utf8)
        let pipe = try runProgram("/bin/sh", ["-c", "\(cli) \(base.joined(separator: " ")) --pipe < \(commands.path)"], timeout: 60)
        XCTAssertEqual(pipe.status, 0, pipe.stdout + pipe.stderr)
        XCTAssertTrue(pipe.stdout.contains("errors: 0, replies: 10000"), pipe.stdout)
        let seats = try runProgram(cli, base + ["SEATS", "cli-club"])
        XCTAssertEqual(seats.stdout, "SEATS capacity=20000 booked=10001 free=9999 waiting=0 refused=0\n")
    }

    func testRedisBenchmarkWithoutWarnings() throws {
        try startStack()
        let client = try connect()
        try expect(client, "PROVIDER bench 100000", "+OK")
        let result = try runProgram("/usr/bin/redis-benchmark",
                                    ["-h", "127.0.0.1", "-p", "\(kezekd.port)", "-n", "2000", "-q", "BOOK", "bench", "__rand_int__"],
                                    timeout: 60)
        XCTAssertEqual(result.status, 0, result.stderr)
        XCTAssertFalse((result.stdout + result.stderr).contains("WARNING"), result.stdout + result.stderr)
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
        XCTAssertEqual(Array(fields.prefix(6)), ["$server", "$kezek", "$version", "$7.0.0", "$proto", ":2"])
        XCTAssertEqual(Array(fields.suffix(7)).filter { $0.hasPrefix("$") }, ["$id", "$mode", "$standalone", "$role", "$master", "$modules"])
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
        try expect(client, "CLIENT SETNAME", "-ERR wrong number of arguments for 'client|setname' command")
    }

    func testHelloNeedsAuthenticationWhenATokenIsSet() throws {
        try startStack(["--token", "sekret"])
        let client = try connect()
        try expect(client, "HELLO 3", prefix: "-NOAUTH HELLO must be called with the client already authenticated")
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
        XCTAssertEqual(try client.readLine(), "-ERR Client names cannot contain spaces, newlines or special characters.")
        try expect(client, "CLIENT SETINFO lib-name kezek-tests", "+OK")
        try expect(client, "CLIENT ID", prefix: ":")
        try expect(client, "CLIENT KILL x", prefix: "-ERR unknown subcommand 'KILL'")
        try expect(client, "COMMAND COUNT", ":\(20)")
        try expect(client, "BOOK", "-ERR wrong number of arguments for 'book' command")
        try client.send("CONFIG GET save appendonly\r\n")
        XCTAssertEqual(try client.readLine(), "*4")
        XCTAssertEqual([try client.readReply(), try client.readReply(), try client.readReply(), try client.readReply()],
                       ["$save", "$", "$appendonly", "$no"])
        try client.send("CONFIG GET nothing-matches\r\n")
        XCTAssertEqual(try client.readLine(), "*0")
        try client.send("INFO clients\r\n")
        XCTAssertEqual(try client.readLine().hasPrefix("$"), true)
        XCTAssertEqual(try client.readLine(), "# Clients")
        XCTAssertEqual(try client.readLine().hasPrefix("connected_clients:"), true)
    }
}
