import Foundation
import KezekTestSupport

/// Certificates made with `openssl` at test time (no key is committed): a test CA, server
/// certificates for 127.0.0.1 signed by it, a client certificate, an expired one, and a
/// client certificate from another CA that the daemon does not trust.
struct TestCertificates {
    let directory: URL
    var caCert: String { path("ca.crt") }
    var serverCert: String { path("server.crt") }
    var serverKey: String { path("server.key") }
    var clientCert: String { path("client.crt") }
    var clientKey: String { path("client.key") }
    var expiredCert: String { path("expired.crt") }
    var strangerCert: String { path("stranger.crt") }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    init(in parent: URL) throws {
        directory = parent.appendingPathComponent("certs")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("ca.key"),
            "-out", path("ca.crt"), "-days", "2", "-subj", "/CN=Kezek Test CA",
        ])
        try openssl([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", path("stranger-ca.key"),
            "-out", path("stranger-ca.crt"), "-days", "2", "-subj", "/CN=Some Other CA",
        ])
        try "subjectAltName=IP:127.0.0.1,DNS:localhost\n".write(
            toFile: path("san.ext"), atomically: true, encoding: .utf8)
        try makeServerCertificate(name: "kezek-server-1", cert: "server.crt", key: "server.key")
        try makeKey("client", subject: "/CN=gateway-1")
        try sign("client.csr", by: "ca", into: "client.crt", days: "2")
        // Valid for 0 days: expired a second after it was made.
        try sign("client.csr", by: "ca", into: "expired.crt", days: "0")
        try sign("client.csr", by: "stranger-ca", into: "stranger.crt", days: "2")
        Thread.sleep(forTimeInterval: 1.1)
    }

    /// A server certificate for 127.0.0.1 named `name`, signed by the test CA.
    func makeServerCertificate(name: String, cert: String, key: String) throws {
        let base = (cert as NSString).deletingPathExtension
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            path(key),
            "-out", path(base + ".csr"), "-subj", "/CN=\(name)",
        ])
        try openssl([
            "x509", "-req", "-in", path(base + ".csr"), "-CA", path("ca.crt"), "-CAkey",
            path("ca.key"),
            "-CAcreateserial", "-out", path(cert), "-days", "2", "-extfile", path("san.ext"),
        ])
    }

    private func makeKey(_ name: String, subject: String) throws {
        try openssl([
            "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            path(name + ".key"),
            "-out", path(name + ".csr"), "-subj", subject,
        ])
    }

    private func sign(_ request: String, by ca: String, into cert: String, days: String) throws {
        try openssl([
            "x509", "-req", "-in", path(request), "-CA", path(ca + ".crt"), "-CAkey",
            path(ca + ".key"),
            "-CAcreateserial", "-out", path(cert), "-days", days,
        ])
    }

    private func openssl(_ arguments: [String]) throws {
        let result = try runProgram("/usr/bin/openssl", arguments, timeout: 30)
        guard result.status == 0 else {
            throw TestSetupError(
                "openssl \(arguments.prefix(2).joined(separator: " ")) failed: \(result.stderr)")
        }
    }
}
