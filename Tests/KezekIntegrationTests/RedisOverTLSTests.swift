import Foundation
import XCTest
import KezekTestSupport

/// A Redis that takes TLS only, reached through a local stunnel in client mode (Debian's
/// hiredis 0.14 has no TLS), as docs/SETTINGS.md describes: bookings are acknowledged through
/// it and a restarted kezekd loads them back through it.
final class RedisOverTLSTests: IntegrationTestCase {
    func testBookingsReachATLSRedisThroughStunnel() throws {
        let stunnelPath = "/usr/bin/stunnel4"
        guard FileManager.default.isExecutableFile(atPath: stunnelPath) else {
            throw TestSetupError(
                "no \(stunnelPath): install stunnel4 (scripts/ensure-deps.sh does)")
        }
        let certificates = try TestCertificates(in: directory)
        let redisTLSPort = freePort()
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        // Redis's default tls-auth-clients is yes: stunnel shows the client certificate.
        redis.extraArguments = [
            "--tls-port", "\(redisTLSPort)", "--tls-cert-file", certificates.serverCert,
            "--tls-key-file", certificates.serverKey, "--tls-ca-cert-file", certificates.caCert,
        ]
        try redis.start()
        try redis.markNewInstallation()

        let tunnelPort = freePort()
        let configuration = """
            foreground = yes
            pid =
            [redis]
            client = yes
            accept = 127.0.0.1:\(tunnelPort)
            connect = 127.0.0.1:\(redisTLSPort)
            CAfile = \(certificates.caCert)
            verifyChain = yes
            checkIP = 127.0.0.1
            cert = \(certificates.clientCert)
            key = \(certificates.clientKey)

            """
        let configPath = directory.appendingPathComponent("stunnel.conf").path
        try configuration.write(toFile: configPath, atomically: true, encoding: .utf8)
        let logPath = directory.appendingPathComponent("stunnel.log").path
        let stunnel = Process()
        stunnel.executableURL = URL(fileURLWithPath: stunnelPath)
        stunnel.arguments = [configPath]
        stunnel.standardOutput = appendingHandle(logPath)
        stunnel.standardError = appendingHandle(logPath)
        try stunnel.run()
        defer { stunnel.stop() }
        let listening = poll(timeout: 10) {
            (try? LineClient(port: tunnelPort, timeout: 1)) != nil ? true : nil
        }
        XCTAssertEqual(
            listening, true, (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? "")

        kezekd = KezekdProcess(redisPort: tunnelPort, logDirectory: directory)
        try kezekd.start()
        let client = try connect()
        try expect(client, "PROVIDER tunnelled 2", "+OK")
        try expect(client, "BOOK tunnelled a", "+BOOKED 1")
        try expect(client, "BOOK tunnelled b", "+BOOKED 0")
        try expect(client, "BOOK tunnelled c", "+FULL tunnelled")
        // Every connection kezekd holds to Redis arrived on Redis's TLS port.
        let clients = try redis.cli(["CLIENT", "LIST"]).split(separator: "\n").filter {
            !$0.contains("cmd=client")
        }
        XCTAssertFalse(clients.isEmpty)
        XCTAssertTrue(
            clients.allSatisfy { $0.contains("laddr=127.0.0.1:\(redisTLSPort) ") },
            clients.joined(separator: "\n"))
        // A restarted daemon loads the bookings back through the tunnel.
        try kezekd.restart()
        try expect(try connect(), "STATUS tunnelled a", "+BOOKED")
        // (The refused count reaches Redis on a later tick, not with the booking: not checked.)
        try expect(
            try connect(), "SEATS tunnelled", prefix: "+SEATS capacity=2 booked=2 free=0 waiting=0 "
        )
    }
}
