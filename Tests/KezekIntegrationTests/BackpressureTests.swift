import Foundation
import XCTest
import KezekTestSupport

/// A client that sends without reading its replies must not grow the daemon's memory: its
/// reads pause once its queued replies pass the limits, and nothing is lost when it reads.
final class BackpressureTests: IntegrationTestCase {
    func testClientThatDoesNotReadIsPausedAndLosesNothing() throws {
        try startStack(["--max-output-bytes", "65536", "--max-pending-replies", "256"])
        let pid = try XCTUnwrap(kezekd.process?.processIdentifier)
        let rssBefore = try residentKilobytes(pid)
        // A plain blocking socket: one thread only writes, the other only reads.
        let socket = try BlockingSocket(port: kezekd.port)
        let requests = 1_000_000
        // ~35-byte error replies
        let payload = Array(String(repeating: "SEATS-NOPE\r\n", count: requests).utf8)

        // The sender blocks once kezekd stops reading; it finishes when we read below.
        let sent = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            socket.sendAll(payload)
            sent.signal()
        }
        let paused = poll(timeout: 10) { () -> Bool? in
            let metrics = try? adminGet(port: self.kezekd.adminPort, path: "/metrics").body
            return metrics?.contains("kezek_backpressure_pauses_total 0") == false ? true : nil
        }
        XCTAssertEqual(paused, true, "reads were never paused")
        let rssPaused = try residentKilobytes(pid)
        XCTAssertLessThan(
            rssPaused - rssBefore, 16 * 1024,
            "kezekd grew by \(rssPaused - rssBefore) kB for one slow client")

        let expected = Array("-ERR unknown command 'SEATS-NOPE'\r\n".utf8)
        let received = socket.receive(bytes: expected.count * requests, timeout: 60)
        XCTAssertEqual(received.count, expected.count * requests, "replies missing")
        XCTAssertTrue(
            received.elementsEqual(repeatElement(expected, count: requests).joined()),
            "replies garbled or out of order")
        XCTAssertEqual(sent.wait(timeout: .now() + 30), .success)
        let client = try connect()
        try expect(client, "PING", "+PONG")
    }

}

/// A blocking TCP socket with send and receive timeouts, safe to write from one thread while
/// another reads (unlike LineClient, which reads while it writes).
final class BlockingSocket: @unchecked Sendable {
    private let fd: Int32

    /// `receiveBuffer` fixes the kernel's receive buffer (no autotuning up to tens of MB), so
    /// what the client does not read stays in the daemon instead of the kernel.
    init(port: Int, receiveBuffer: Int32? = nil) throws {
        fd = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        if var size = receiveBuffer {
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }
        var timeout = timeval(tv_sec: 60, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = loopbackAddress(port: port)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else { throw LineClientError.connectFailed(port: port, errno: errno) }
    }

    deinit { Glibc.close(fd) }

    func sendAll(_ bytes: [UInt8]) {
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            }
            guard written > 0 else { return }
            offset += written
        }
    }

    /// Reads until `count` bytes arrived, the peer closed, or `timeout` seconds passed.
    func receive(bytes count: Int, timeout: Double) -> [UInt8] {
        var received: [UInt8] = []
        received.reserveCapacity(count)
        var chunk = [UInt8](repeating: 0, count: 65536)
        let deadline = monotonicNow() + timeout
        while received.count < count && monotonicNow() < deadline {
            let got = chunk.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress!, $0.count, 0) }
            guard got > 0 else { break }
            received += chunk[0..<got]
        }
        return received
    }
}

/// Issue 8, finding 4: the output limits were per connection only, so 300 connections that
/// pipeline and never read grew the daemon by 252 MB. max-total-output-bytes bounds them all.
final class GlobalOutputCapTests: IntegrationTestCase {
    func testManyClientsThatDoNotReadShareOneBound() throws {
        // Per connection 8 MiB would allow 60 clients 480 MB; together they get 4 MiB. (Measured
        // with the total cap lifted: 444,636 kB of growth.)
        try startStack([
            "--max-output-bytes", "8388608", "--max-pending-replies", "1000000",
            "--max-total-output-bytes", "4194304",
        ])
        let pid = try XCTUnwrap(kezekd.process?.processIdentifier)
        let rssBefore = try residentKilobytes(pid)
        // ~14 MB of replies each
        let payload = Array(String(repeating: "SEATS-NOPE\r\n", count: 400_000).utf8)
        var sockets: [BlockingSocket] = []
        for _ in 0..<60 {
            let socket = try BlockingSocket(port: kezekd.port, receiveBuffer: 4096)
            sockets.append(socket)
            Thread.detachNewThread { socket.sendAll(payload) }
        }
        let paused = poll(timeout: 20) { () -> Bool? in
            let metrics = try? adminGet(port: self.kezekd.adminPort, path: "/metrics").body
            return metrics?.contains("kezek_backpressure_pauses_total 0") == false ? true : nil
        }
        XCTAssertEqual(paused, true, "reads were never paused")
        Thread.sleep(forTimeInterval: 1)
        let grown = try residentKilobytes(pid) - rssBefore
        XCTAssertLessThan(
            grown, 32 * 1024, "kezekd grew by \(grown) kB for 60 clients that do not read")
        // Others are still served, and a stuck client that reads gets everything in order.
        let client = try connect()
        try expect(client, "PING", "+PONG")
        let expected = Array("-ERR unknown command 'SEATS-NOPE'\r\n".utf8)
        let received = sockets[0].receive(bytes: expected.count * 400_000, timeout: 60)
        XCTAssertEqual(received.count, expected.count * 400_000, "replies missing")
    }
}

func residentKilobytes(_ pid: Int32) throws -> Int {
    let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
    let line = try XCTUnwrap(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
    return try XCTUnwrap(Int(line.split(separator: " ").dropFirst().first ?? ""))
}
