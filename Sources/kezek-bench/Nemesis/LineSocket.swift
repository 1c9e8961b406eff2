// A blocking TCP connection to a loopback port that sends one-line requests and reads one-line
// replies, each with a deadline: what the nemesis's clients and its probes use.
#if canImport(Glibc)
    import Glibc
#endif

final class LineSocket {
    enum Failure: Error { case refused, timedOut, closed }

    private let fd: Int32
    private var buffer: [UInt8] = []

    init(port: UInt16, timeout: Double) throws {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw Failure.refused }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            guard errno == EINPROGRESS, wait(for: Int16(POLLOUT), timeout: timeout) else {
                close(fd)
                throw Failure.refused
            }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            guard error == 0 else {
                close(fd)
                throw Failure.refused
            }
        }
    }

    deinit { close(fd) }

    /// Closes with a reset (RST) rather than an orderly FIN: a client that gives up abruptly.
    func reset() {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        shutdown(fd, Int32(SHUT_RDWR))
    }

    func send(_ line: String) throws {
        var bytes = Array((line + "\r\n").utf8)
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeMutableBytes {
                Glibc.send(fd, $0.baseAddress! + sent, $0.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n; continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                guard wait(for: Int16(POLLOUT), timeout: 1) else { throw Failure.timedOut }
                continue
            }
            throw Failure.closed
        }
    }

    /// The next reply line (without `\r\n`), or a failure when none came within `timeout`.
    func readLine(timeout: Double) throws -> String {
        let deadline = Self.now() + timeout
        while true {
            if let end = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = Array(buffer[..<end])
                buffer.removeSubrange(...end)
                if line.last == UInt8(ascii: "\r") { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            let left = deadline - Self.now()
            guard left > 0, wait(for: Int16(POLLIN), timeout: left) else { throw Failure.timedOut }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { buffer += chunk[..<n]; continue }
            if n < 0 && (errno == EAGAIN || errno == EINTR) { continue }
            throw Failure.closed
        }
    }

    /// One request, one reply line.
    func ask(_ line: String, timeout: Double) throws -> String {
        try send(line)
        return try readLine(timeout: timeout)
    }

    private func wait(for events: Int16, timeout: Double) -> Bool {
        var poller = pollfd(fd: fd, events: events, revents: 0)
        let result = poll(&poller, 1, Int32(max(1, timeout * 1000)))
        return result > 0
    }

    static func now() -> Double {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Double(time.tv_sec) + Double(time.tv_nsec) / 1e9
    }

    /// Seconds and nanoseconds since an arbitrary start, for the history.
    static func nanoseconds() -> UInt64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return UInt64(time.tv_sec) * 1_000_000_000 + UInt64(time.tv_nsec)
    }
}
