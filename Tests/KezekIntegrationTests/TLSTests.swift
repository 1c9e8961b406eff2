import Foundation
import XCTest
import KezekTestSupport

/// TLS on the client port (issue 28), with real clients: redis-cli --tls with and without a
/// client certificate, redis-py ssl=True, openssl s_client; plain, expired and untrusted
/// clients refused; SIGHUP swapping the certificate under open connections; redis_exporter
/// over rediss:// as a monitor user on a TLS-only daemon.
final class TLSTests: IntegrationTestCase {
    private var certificates: TestCertificates!
    private var tlsPort = 0

    /// Starts Redis and kezekd with TLS on a free port (`authClients`: tls-auth-clients).
    private func startTLSStack(authClients: String, _ extra: [String] = []) throws {
        certificates = try TestCertificates(in: directory)
        tlsPort = freePort()
        try startStack(
            [
                "--tls-port", "\(tlsPort)", "--tls-cert-file", certificates.serverCert,
                "--tls-key-file", certificates.serverKey, "--tls-ca-cert-file", certificates.caCert,
                "--tls-auth-clients", authClients,
            ] + extra)
    }

    /// redis-cli --tls against the TLS port; returns its output (stdout and stderr).
    private func redisCLI(_ arguments: [String], certificate: (cert: String, key: String)? = nil)
        throws -> String
    {
        var tls = ["--tls", "--cacert", certificates.caCert, "-h", "127.0.0.1", "-p", "\(tlsPort)"]
        if let certificate { tls += ["--cert", certificate.cert, "--key", certificate.key] }
        let result = try runProgram("/usr/bin/redis-cli", tls + arguments, timeout: 20)
        return (result.stdout + result.stderr).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    private func stderrContains(_ text: String) -> Bool {
        poll(timeout: 5) { () -> Bool? in
            ((try? String(contentsOfFile: self.kezekd.stderrPath, encoding: .utf8)) ?? "").contains(
                text) ? true : nil
        } == true
    }

    func testRedisCliWithAndWithoutAClientCertificate() throws {
        try startTLSStack(authClients: "optional", ["--token", "sekret"])
        XCTAssertEqual(
            try redisCLI(["-a", "sekret", "--no-auth-warning", "PROVIDER", "tls-club", "2"]), "OK")
        XCTAssertEqual(
            try redisCLI(["-a", "sekret", "--no-auth-warning", "BOOK", "tls-club", "h1"]),
            "BOOKED 1")
        let withCertificate = try redisCLI(
            ["-a", "sekret", "--no-auth-warning", "BOOK", "tls-club", "h2"],
            certificate: (certificates.clientCert, certificates.clientKey))
        XCTAssertEqual(withCertificate, "BOOKED 0")
        // Optional still checks a certificate that is sent.
        let stranger = try redisCLI(
            ["PING"], certificate: (certificates.strangerCert, certificates.clientKey))
        XCTAssertFalse(stranger.contains("PONG"), stranger)
        // The plain port serves the same state.
        let plain = try connect()
        try expect(plain, "AUTH sekret", "+OK")
        try expect(plain, "SEATS tls-club", "+SEATS capacity=2 booked=2 free=0 waiting=0 refused=0")
    }

    /// tls-auth-clients yes: only a current certificate from the configured CA gets in.
    func testRequiredClientCertificateRefusesMissingExpiredAndUntrusted() throws {
        try startTLSStack(authClients: "yes")
        XCTAssertEqual(
            try redisCLI(["PING"], certificate: (certificates.clientCert, certificates.clientKey)),
            "PONG")
        let none = try redisCLI(["PING"])
        XCTAssertFalse(none.contains("PONG"), none)
        XCTAssertTrue(
            stderrContains("peer did not return a certificate"), kezekd.stderrTail(lines: 20))
        // openssl s_client shows the alert the daemon sent.
        let expired = try openSSLClient([
            "-cert", certificates.expiredCert, "-key", certificates.clientKey,
        ])
        XCTAssertFalse(expired.contains("+PONG"), expired)
        XCTAssertTrue(expired.contains("alert certificate expired"), expired)
        let stranger = try openSSLClient([
            "-cert", certificates.strangerCert, "-key", certificates.clientKey,
        ])
        XCTAssertFalse(stranger.contains("+PONG"), stranger)
        XCTAssertTrue(stranger.contains("alert unknown ca"), stranger)
        let good = try openSSLClient([
            "-cert", certificates.clientCert, "-key", certificates.clientKey,
        ])
        XCTAssertTrue(good.contains("+PONG\r\n+BYE"), good)
        try expect(try connect(), "HEALTH", prefix: "+OK")
    }

    /// `openssl s_client` sending PING and QUIT; its output and errors.
    private func openSSLClient(_ arguments: [String]) throws -> String {
        let input = directory.appendingPathComponent("ping.txt").path
        try "PING\r\nQUIT\r\n".write(toFile: input, atomically: true, encoding: .utf8)
        let command =
            ([
                "/usr/bin/openssl", "s_client", "-connect", "127.0.0.1:\(tlsPort)", "-CAfile",
                certificates.caCert, "-quiet",
            ]
            + arguments).joined(separator: " ") + " < " + input
        let result = try runProgram("/bin/sh", ["-c", command], timeout: 20)
        return result.stdout + result.stderr
    }

    /// A plain client on the TLS port: no reply, the connection closed, the daemon unharmed.
    func testPlainClientOnTheTLSPortIsRefusedCleanly() throws {
        try startTLSStack(authClients: "no")
        let plain = try LineClient(port: tlsPort)
        try plain.send("PING\r\nBOOK a b\r\n")
        let (lines, closed) = plain.readUntilClosed(timeout: 5)
        XCTAssertTrue(closed, "the TLS port left a plain client open")
        XCTAssertFalse(lines.contains("+PONG"), "\(lines)")
        XCTAssertTrue(stderrContains("TLS handshake failed"), kezekd.stderrTail(lines: 20))
        XCTAssertEqual(try redisCLI(["PING"]), "PONG")
        try expect(try connect(), "HEALTH", prefix: "+OK")
    }

    /// openssl s_client with a pipeline of 1,000 bookings in one write: every reply, in order.
    func testOpenSSLClientPipelines() throws {
        try startTLSStack(authClients: "no")
        try expect(try connect(), "PROVIDER piped 600", "+OK")
        let input = directory.appendingPathComponent("pipeline.txt").path
        let requests = (0..<1000).map { "BOOK piped h\($0)\r\n" }.joined() + "QUIT\r\n"
        try requests.write(toFile: input, atomically: true, encoding: .utf8)
        let result = try runProgram(
            "/bin/sh",
            [
                "-c",
                "/usr/bin/openssl s_client -connect 127.0.0.1:\(tlsPort) -CAfile \(certificates.caCert)"
                    + " -verify_return_error -quiet < \(input)",
            ], timeout: 60)
        let lines = result.stdout.split(separator: "\r\n").map(String.init)
        XCTAssertEqual(lines.count, 1001, result.stderr)
        XCTAssertEqual(lines.first, "+BOOKED 599")
        XCTAssertEqual(lines.filter { $0.hasPrefix("+BOOKED") }.count, 600)
        XCTAssertEqual(lines.filter { $0 == "+FULL piped" }.count, 400)
        XCTAssertEqual(lines.last, "+BYE")
    }

    func testRedisPyWithSSL() throws {
        let python = RedisClientTests.python
        guard FileManager.default.isExecutableFile(atPath: python) else {
            throw TestSetupError(
                "no redis-py environment at \(python): run scripts/ensure-pyclients.sh (make test does)"
            )
        }
        try startTLSStack(authClients: "optional", ["--token", "sekret"])
        let script = """
            import redis, sys
            r = redis.Redis(host="127.0.0.1", port=\(tlsPort), password="sekret", ssl=True, ssl_ca_certs="\(certificates.caCert)",
                            decode_responses=True)
            assert r.ping()
            assert r.execute_command("PROVIDER", "py-club", 3) == "OK"
            pipe = r.pipeline(transaction=False)
            for i in range(5):
                pipe.execute_command("BOOK", "py-club", f"h{i}")
            replies = pipe.execute()
            assert replies == ["BOOKED 2", "BOOKED 1", "BOOKED 0", "FULL py-club", "FULL py-club"], replies
            url = redis.Redis.from_url("rediss://default:sekret@127.0.0.1:\(tlsPort)/0?ssl_ca_certs=\(certificates.caCert)",
                                       decode_responses=True)
            assert url.execute_command("STATUS", "py-club", "h0") == "BOOKED"
            print("ok")
            """
        let result = try runProgram(python, ["-c", script], timeout: 60)
        XCTAssertEqual(result.status, 0, result.stdout + result.stderr)
        XCTAssertEqual(result.stdout, "ok\n")
    }

    /// SIGHUP reads the certificate files again: new connections get the new certificate,
    /// a connection opened before keeps working on the old one.
    func testSighupSwapsTheCertificateWithoutDroppingConnections() throws {
        let python = "/usr/bin/python3"
        try startTLSStack(authClients: "no")
        let ready = directory.appendingPathComponent("ready").path
        let go = directory.appendingPathComponent("go").path
        let script = """
            import os, socket, ssl, sys, time
            context = ssl.create_default_context(cafile="\(certificates.caCert)")
            def open_one():
                s = context.wrap_socket(socket.create_connection(("127.0.0.1", \(tlsPort))), server_hostname="127.0.0.1")
                subject = dict(x[0] for x in s.getpeercert()["subject"])["commonName"]
                return s, subject
            def ask(s, line):
                s.sendall(line.encode() + b"\\r\\n")
                data = b""
                while not data.endswith(b"\\r\\n"):
                    data += s.recv(100)
                return data.decode().strip()
            old, first = open_one()
            print("first", first, ask(old, "PING"), flush=True)
            open("\(ready)", "w").close()
            for _ in range(200):
                if os.path.exists("\(go)"): break
                time.sleep(0.05)
            new, second = open_one()
            print("second", second, ask(new, "PING"), flush=True)
            print("old", ask(old, "PING"), flush=True)
            """
        let out = directory.appendingPathComponent("swap.out").path
        _ = FileManager.default.createFile(atPath: out, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script]
        process.standardOutput = FileHandle(forWritingAtPath: out)
        process.standardError = FileHandle(forWritingAtPath: out)
        try process.run()
        defer { process.stop() }
        XCTAssertEqual(
            poll(timeout: 10) { FileManager.default.fileExists(atPath: ready) ? true : nil }, true,
            (try? String(contentsOfFile: out, encoding: .utf8)) ?? "")
        try certificates.makeServerCertificate(
            name: "kezek-server-2", cert: "server.crt", key: "server.key")
        kezekd.process?.send(signal: SIGHUP)
        XCTAssertTrue(stderrContains("reloaded tls"), kezekd.stderrTail(lines: 20))
        _ = FileManager.default.createFile(atPath: go, contents: nil)
        XCTAssertTrue(process.waitForExit(timeout: 15))
        let lines = ((try? String(contentsOfFile: out, encoding: .utf8)) ?? "").split(
            separator: "\n"
        ).map(String.init)
        XCTAssertEqual(
            lines, ["first kezek-server-1 +PONG", "second kezek-server-2 +PONG", "old +PONG"])
        // A certificate file that does not parse keeps the one in use.
        try "not a certificate".write(
            toFile: certificates.serverCert, atomically: true, encoding: .utf8)
        kezekd.process?.send(signal: SIGHUP)
        XCTAssertTrue(stderrContains("tls kept as it was"), kezekd.stderrTail(lines: 20))
        XCTAssertEqual(try redisCLI(["PING"]), "PONG")
    }

    /// A TLS-only daemon (`listen` port 0) scraped by redis_exporter over rediss:// as a user
    /// with +@monitor only: no scrape error, and that user cannot book.
    func testRedisExporterScrapesOverTLSAsAMonitorUser() throws {
        certificates = try TestCertificates(in: directory)
        tlsPort = freePort()
        let acl = directory.appendingPathComponent("users.acl").path
        try "user default off\nuser scraper on >scrape-pw +@monitor\nuser ops on >ops-pw +@all\n"
            .write(toFile: acl, atomically: true, encoding: .utf8)
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        try redis.markNewInstallation(prefix: "kezek")
        kezekd = KezekdProcess(
            redisPort: redis.port, logDirectory: directory,
            extraArguments: [
                "--listen", "127.0.0.1:0", "--tls-port", "\(tlsPort)", "--tls-cert-file",
                certificates.serverCert,
                "--tls-key-file", certificates.serverKey, "--tls-auth-clients", "no", "--acl-file",
                acl,
            ])
        kezekd.passListenFlag = false
        try kezekd.start(waitUntilHealthy: false)
        XCTAssertEqual(
            poll(timeout: 15) {
                (try? adminGet(port: self.kezekd.adminPort, path: "/readyz"))?.status == 200
                    ? true : nil
            }, true,
            kezekd.stderrTail(lines: 30))
        XCTAssertEqual(
            try redisCLI([
                "--user", "ops", "--pass", "ops-pw", "--no-auth-warning", "PROVIDER", "scraped",
                "1",
            ]), "OK")
        XCTAssertEqual(
            try redisCLI([
                "--user", "scraper", "--pass", "scrape-pw", "--no-auth-warning", "BOOK", "scraped",
                "h1",
            ]),
            "NOPERM this connection is not allowed to run 'book'")
        XCTAssertThrowsError(try LineClient(port: kezekd.port, timeout: 2), "the plain port is off")

        let exporter = try RedisExporter(
            directory: directory,
            arguments: [
                "-redis.addr", "rediss://127.0.0.1:\(tlsPort)", "-redis.user", "scraper",
                "-redis.password", "scrape-pw",
                "-tls-ca-cert-file", certificates.caCert,
            ])
        let scraped = exporter.firstScrape()
        XCTAssertTrue(scraped?.contains("\nredis_up 1") == true, scraped ?? "no scrape")
        let second = try exporter.scrape()
        XCTAssertTrue(
            second.contains("\nredis_exporter_last_scrape_error{err=\"\"} 0"),
            second.split(separator: "\n").filter { $0.contains("error") }.joined(separator: "\n"))
        XCTAssertTrue(second.contains("\nredis_connected_clients "), "INFO was not read")
        let (log, complaints) = exporter.stop()
        XCTAssertEqual(complaints, [], log)
    }

    /// `admin-tls` and `public-tls`: HTTPS through Hummingbird's TLS with the same certificate;
    /// the admin listener wants a client certificate when tls-auth-clients is yes.
    func testAdminAndPublicListenersOverHTTPS() throws {
        try startTLSStack(authClients: "yes", ["--admin-tls", "yes", "--public-tls", "yes"])
        func curl(_ url: String, _ extra: [String] = []) throws -> (status: Int32?, output: String)
        {
            let result = try runProgram(
                "/usr/bin/curl",
                [
                    "-sS", "--max-time", "10", "--cacert", certificates.caCert,
                    "-w", "\n%{http_code}",
                ] + extra + [url], timeout: 20)
            return (result.status, result.stdout + result.stderr)
        }
        let client = ["--cert", certificates.clientCert, "--key", certificates.clientKey]
        let ready = try curl("https://127.0.0.1:\(kezekd.adminPort)/readyz", client)
        XCTAssertEqual(ready.status, 0, ready.output)
        XCTAssertTrue(ready.output.hasSuffix("\n200"), ready.output)
        let metrics = try curl("https://127.0.0.1:\(kezekd.adminPort)/metrics", client)
        XCTAssertTrue(metrics.output.contains("kezek_"), String(metrics.output.prefix(300)))
        let anonymous = try curl("https://127.0.0.1:\(kezekd.adminPort)/readyz")
        XCTAssertNotEqual(
            anonymous.status, 0,
            "the admin listener served a client without a certificate: \(anonymous.output)")
        let plain = try curl("http://127.0.0.1:\(kezekd.adminPort)/readyz")
        XCTAssertFalse(plain.output.hasSuffix("\n200"), plain.output)
        try expect(try connect(), "PROVIDER web 3", "+OK")
        let page = try curl("https://127.0.0.1:\(kezekd.publicPort)/providers.csv")
        XCTAssertEqual(page.status, 0, page.output)
        XCTAssertTrue(page.output.hasPrefix("provider,capacity"), page.output)
        XCTAssertTrue(page.output.contains("\nweb,3,"), page.output)
        XCTAssertTrue(page.output.hasSuffix("\n200"), page.output)
    }
}
