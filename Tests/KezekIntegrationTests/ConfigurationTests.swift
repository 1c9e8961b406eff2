import Foundation
import XCTest
import KezekTestSupport

/// Command line, environment and config file, per docs/SETTINGS.md: flag > environment >
/// file > default; a bad value stops kezekd with exit status 2 and one line naming it.
final class ConfigurationTests: IntegrationTestCase {
    // MARK: Bad values

    func testZeroThreadsIsRefused() throws {
        try expectRefused(["--threads", "0"], naming: "threads")
    }

    func testNonNumericThreadsIsRefused() throws {
        try expectRefused(["--threads", "abc"], naming: "threads")
    }

    func testNonsenseListenAddressIsRefused() throws {
        try expectRefused(["--listen", "nonsense"], naming: "listen")
    }

    func testNegativeHolderLimitIsRefused() throws {
        try expectRefused(["--holder-limit", "-1"], naming: "holder-limit")
    }

    func testBadSentinelListIsRefused() throws {
        try expectRefused(["--sentinel", "127.0.0.1:26379,,127.0.0.1:26380"], naming: "sentinel")
        try expectRefused(
            ["--sentinel", "127.0.0.1:26379,sentinel.example:26379"], naming: "sentinel")
        try expectRefused(["--sentinel-master", "two words"], naming: "sentinel-master")
    }

    func testBadEnvironmentValueIsRefused() throws {
        try expectRefused([], environment: ["KEZEK_THREADS": "abc"], naming: "threads")
    }

    /// The nemesis's planted bugs (docs/RELIABILITY.md) are refused unless consented to, and
    /// no configuration key reaches them.
    func testPlantedBugIsRefusedWithoutConsent() throws {
        let consent = ["KEZEK_PLANTED_BUG_CONSENT": "this-daemon-breaks-its-contract"]
        try expectRefused(
            [], environment: ["KEZEK_PLANTED_BUG": "skip-fence"], naming: "kezek_planted_bug")
        try expectRefused(
            [], environment: consent.merging(["KEZEK_PLANTED_BUG": "nonsense"]) { $1 },
            naming: "kezek_planted_bug")
        try expectRefused(
            ["--config", try writeConfig("planted-bug: skip-fence\n")], naming: "planted-bug")
    }

    func testBadValueInConfigFileNamesTheKey() throws {
        let file = try writeConfig("threads: 2\nholder-limit: lots\n")
        try expectRefused(["--config", file], naming: "holder-limit")
        let second = try writeConfig("threads: 0\n")
        try expectRefused(["--config", second], naming: "threads")
    }

    func testUnknownFlagIsRefused() throws {
        try expectRefused(["--thread", "2"], naming: "thread")
    }

    func testFlagWithoutValueIsRefused() throws {
        try expectRefused(["--holder-limit"], naming: "holder-limit")
    }

    func testUnknownKeyInConfigFileIsRefused() throws {
        let file = try writeConfig("threads: 2\nthread-count: 4\n")
        try expectRefused(["--config", file], naming: "thread-count")
    }

    /// The command-line provider splits values at commas; a token with commas stays whole.
    func testTokenWithCommasIsKeptWhole() throws {
        try startRedis()
        try startKezekd(listenFlag: true, arguments: ["--token", "a,b,c"], on: freePort())
        let client = try connect()
        try expect(client, "AUTH a", "-WRONGPASS invalid token")
        try expect(client, "AUTH a,b,c", "+OK")
    }

    // MARK: Generated docs

    /// docs/SETTINGS.md's table is what `kezekd --settings-doc` prints from the declarations.
    func testSettingsDocMatchesDeclarations() throws {
        let result = try runProgram(
            KezekdProcess.binaryPath, ["--settings-doc"],
            environment: cleanEnvironment(adding: [:]), timeout: 5)
        XCTAssertEqual(result.status, 0, result.stderr)
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("docs/SETTINGS.md")
        let text = try String(contentsOf: docs, encoding: .utf8)
        guard let begin = text.range(of: "<!-- settings:begin -->\n"),
            let end = text.range(of: "\n<!-- settings:end -->")
        else {
            return XCTFail("docs/SETTINGS.md lacks the settings markers")
        }
        XCTAssertEqual(
            String(text[begin.upperBound..<end.lowerBound]),
            result.stdout.trimmingCharacters(in: .newlines),
            "docs/SETTINGS.md drifted from the declarations: run `make settings-doc`")
    }

    // MARK: Precedence

    func testEnvironmentListenIsUsedWithoutFlag() throws {
        try startRedis()
        let port = freePort()
        try startKezekd(
            listenFlag: false, environment: ["KEZEK_LISTEN": "127.0.0.1:\(port)"], on: port)
        try expect(try LineClient(port: port), "PING", "+PONG")
    }

    func testFlagBeatsEnvironment() throws {
        try startRedis()
        let envPort = freePort()
        kezekd = KezekdProcess(
            redisPort: redis.port, logDirectory: directory,
            environment: ["KEZEK_LISTEN": "127.0.0.1:\(envPort)"])
        try kezekd.start()
        try expect(try connect(), "PING", "+PONG")
        XCTAssertThrowsError(
            try LineClient(port: envPort, timeout: 2),
            "kezekd also listens on the environment's port")
    }

    func testConfigFileBeatsDefault() throws {
        try startRedis()
        let port = freePort()
        let file = try writeConfig("# comment\nlisten: 127.0.0.1:\(port)\nholder-limit: 1\n")
        try startKezekd(listenFlag: false, arguments: ["--config", file], on: port)
        let client = try LineClient(port: port)
        try expect(client, "PROVIDER a 5", "+OK")
        try expect(client, "PROVIDER b 5", "+OK")
        try expect(client, "BOOK a h1", "+BOOKED 4")
        try expect(client, "BOOK b h1", "+LIMIT h1")
    }

    func testConfigFileFromEnvironment() throws {
        try startRedis()
        let port = freePort()
        let file = try writeConfig("listen: 127.0.0.1:\(port)\n")
        try startKezekd(listenFlag: false, environment: ["KEZEK_CONFIG": file], on: port)
        try expect(try LineClient(port: port), "PING", "+PONG")
    }

    func testEnvironmentBeatsFileAndFlagBeatsBoth() throws {
        try startRedis()
        let filePort = freePort(), envPort = freePort()
        let file = try writeConfig("listen: 127.0.0.1:\(filePort)\nholder-limit: 1\n")
        try startKezekd(
            listenFlag: false, arguments: ["--config", file, "--holder-limit", "2"],
            environment: ["KEZEK_LISTEN": "127.0.0.1:\(envPort)", "KEZEK_HOLDER_LIMIT": "3"],
            on: envPort)
        XCTAssertThrowsError(
            try LineClient(port: filePort, timeout: 2), "kezekd listens on the file's port")
        let client = try LineClient(port: envPort)
        for provider in ["a", "b", "c"] { try expect(client, "PROVIDER \(provider) 5", "+OK") }
        try expect(client, "BOOK a h1", "+BOOKED 4")
        try expect(client, "BOOK b h1", "+BOOKED 4")
        try expect(client, "BOOK c h1", "+LIMIT h1")
    }

    func testCatalogCreatesProviders() throws {
        let catalog = directory.appendingPathComponent("providers.csv")
        try
            "provider,capacity,district,name\nschool-01,3,Alatau,School No. 1\npool.02,1,Bostandyk,Pool No. 2\n"
            .write(to: catalog, atomically: true, encoding: .utf8)
        try startStack(["--catalog", catalog.path])
        let client = try connect()
        try expect(
            client, "SEATS school-01", "+SEATS capacity=3 booked=0 free=3 waiting=0 refused=0")
        try expect(client, "BOOK pool.02 h1", "+BOOKED 0")
        // On a restart the catalog does not overwrite what Redis holds.
        kezekd.terminate()
        try kezekd.start()
        try expect(
            try connect(), "SEATS pool.02", "+SEATS capacity=1 booked=1 free=0 waiting=0 refused=0")
    }

    func testKeyPrefixIsUsedInRedis() throws {
        try startStack(["--key-prefix", "zq9"])
        try expect(try connect(), "PROVIDER room 2", "+OK")
        try expect(try connect(), "BOOK room h1", "+BOOKED 1")
        let keys = try redis.cli(["--scan"]).split(separator: "\n").map(String.init)
        XCTAssertFalse(keys.isEmpty, "nothing written to Redis")
        XCTAssertEqual(keys.filter { !$0.hasPrefix("zq9") }, [], "keys without the prefix")
    }

    // MARK: Helpers

    /// Runs kezekd with `arguments` (after valid addresses) and expects exit status 2 within
    /// 5 s, with exactly one line on stderr that names `name`.
    private func expectRefused(
        _ arguments: [String], environment: [String: String] = [:], naming name: String,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = KezekdProcess.binaryPath
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw TestSetupError("no kezekd at \(path)")
        }
        let addresses = [
            "--listen", "127.0.0.1:\(freePort())", "--redis", "127.0.0.1:\(freePort())",
            "--admin-listen", "127.0.0.1:\(freePort())",
        ]
        let flags = arguments.contains("--listen") ? Array(addresses.dropFirst(2)) : addresses
        let result = try runProgram(
            path, flags + arguments, environment: cleanEnvironment(adding: environment), timeout: 5)
        let lines = result.stderr.split(separator: "\n").filter {
            !$0.trimmingCharacters(in: .whitespaces).isEmpty
        }
        let context =
            "\(arguments) \(environment): status \(String(describing: result.status)), stderr: \(result.stderr)"
        XCTAssertEqual(result.status, 2, context, file: file, line: line)
        XCTAssertEqual(lines.count, 1, context, file: file, line: line)
        XCTAssertTrue(
            lines.first?.lowercased().contains(name) ?? false, "no line naming \(name): \(context)",
            file: file, line: line)
    }

    private func writeConfig(_ text: String) throws -> String {
        let url = directory.appendingPathComponent("kezek-\(UUID().uuidString).yaml")
        try text.write(to: url, atomically: true, encoding: .utf8)
        return url.path
    }

    private func startRedis() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        try redis.markNewInstallation()
    }

    /// Starts kezekd expecting it to serve on `port`, however the port was configured.
    private func startKezekd(
        listenFlag: Bool, arguments: [String] = [], environment: [String: String] = [:],
        on port: Int
    ) throws {
        kezekd = KezekdProcess(
            redisPort: redis.port, logDirectory: directory, extraArguments: arguments,
            environment: environment, port: port)
        kezekd.passListenFlag = listenFlag
        try kezekd.start()
    }
}
