import Foundation
import KezekTestSupport

/// A GET against kezekd's admin listener: status code and body.
struct AdminResponse {
    let status: Int
    let body: String
}

func adminGet(port: Int, path: String, timeout: Double = 5) throws -> AdminResponse {
    let client = try LineClient(port: port, timeout: timeout)
    defer { client.close() }
    try client.send("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    let (lines, _) = client.readUntilClosed(timeout: timeout)
    guard let statusLine = lines.first else { throw TestSetupError("no HTTP response for \(path)") }
    let parts = statusLine.split(separator: " ")
    guard parts.count >= 2, let status = Int(parts[1]) else {
        throw TestSetupError("bad status line '\(statusLine)'")
    }
    let body = lines.drop { !$0.isEmpty }.dropFirst().joined(separator: "\n")
    return AdminResponse(status: status, body: body)
}
