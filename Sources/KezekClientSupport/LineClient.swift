import Glibc

public enum LineClientError: Error, CustomStringConvertible {
    case connectFailed(port: Int, errno: Int32)
    case timeout(String)
    case closed(String)
    case io(String, errno: Int32)
    case notLoopback(String)
    case unexpectedReply(String)

    public var description: String {
        switch self {
        case .connectFailed(let port, let code):
            return "connect to 127.0.0.1:\(port) failed: \(String(cString: strerror(code)))"
        case .timeout(let what): return "timed out: \(what)"
        case .closed(let what): return "connection closed by peer: \(what)"
        case .io(let what, let code): return "\(what) failed: \(String(cString: strerror(code)))"
        case .notLoopback(let host):
            return "only loopback IPv4 addresses (127.0.0.0/8) are targets, not '\(host)'"
        case .unexpectedReply(let line): return "unexpected reply line '\(line)'"
        }
    }
}

/// A blocking line-oriented TCP client for one thread, to a loopback port: the tests',
/// kezek-audit's and the nemesis's client (RESP commands and replies: RESPValue.swift).
/// Every call takes a timeout; the socket
/// is non-blocking underneath and waits with poll(2), so nothing can hang a test forever.
/// Writing also drains incoming bytes, so a huge pipeline cannot deadlock against a server
/// that stops reading until its replies are read.
/// Unchecked Sendable: tests hand a client to one worker thread, which alone uses it.
public final class LineClient: @unchecked Sendable {
    public let port: Int
    private var fd: Int32
    /// Received bytes not yet returned; `consumed` of them are already taken.
    private var buffer: [UInt8] = []
    private var consumed = 0
    /// How far past `consumed` the buffer holds no newline.
    private var scanned = 0
    public private(set) var peerClosed = false

    /// Connects to `host:port`; `host` must be a loopback IPv4 address (127.0.0.0/8).
    public init(port: Int, host: String = "127.0.0.1", timeout: Double = 5) throws {
        self.port = port
        var address = loopbackAddress(port: port)
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &address.sin_addr) == 1,
            UInt32(bigEndian: address.sin_addr.s_addr) >> 24 == 127
        else { throw LineClientError.notLoopback(host) }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw LineClientError.io("socket", errno: errno) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                Glibc.close(fd); throw LineClientError.connectFailed(port: port, errno: code)
            }
            guard wait(for: Int16(POLLOUT), timeout: timeout) else {
                Glibc.close(fd)
                throw LineClientError.timeout("connect to 127.0.0.1:\(port)")
            }
            var soError: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &soError, &length)
            if soError != 0 {
                Glibc.close(fd); throw LineClientError.connectFailed(port: port, errno: soError)
            }
        }
    }

    deinit { close() }

    public func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }

    /// Closes with a TCP reset (SO_LINGER 0): the most abrupt disconnect a client can make.
    public func abort() {
        guard fd >= 0 else { return }
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close()
    }

    /// Half-closes: the server sees end of input while this side can still read.
    public func shutdownWrite() {
        if fd >= 0 { Glibc.shutdown(fd, Int32(SHUT_WR)) }
    }

    /// Sends `text` as raw bytes: nothing is added.
    public func send(_ text: String, timeout: Double = 60) throws {
        try send(bytes: Array(text.utf8), timeout: timeout)
    }

    public func send(bytes: [UInt8], timeout: Double = 60) throws {
        guard fd >= 0 else { throw LineClientError.closed("send on a closed client") }
        let deadline = monotonicNow() + timeout
        var offset = 0
        while offset < bytes.count {
            let remaining = deadline - monotonicNow()
            guard remaining > 0 else {
                throw LineClientError.timeout("send of \(bytes.count) bytes (\(offset) sent)")
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT | POLLIN), revents: 0)
            let ready = Glibc.poll(&pfd, 1, Int32(min(remaining, 1) * 1000) + 1)
            if ready < 0 && errno != EINTR { throw LineClientError.io("poll", errno: errno) }
            if ready <= 0 { continue }
            if pfd.revents & Int16(POLLIN) != 0 && !peerClosed { try fill() }
            if pfd.revents & Int16(POLLOUT | POLLERR | POLLHUP) != 0 {
                let written = bytes.withUnsafeBytes {
                    Glibc.send(
                        fd, $0.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
                }
                if written > 0 {
                    offset += written
                } else if written < 0 && errno != EAGAIN && errno != EINTR {
                    let code = errno
                    if code == EPIPE || code == ECONNRESET {
                        throw LineClientError.closed(
                            "send (\(offset) of \(bytes.count) bytes sent)")
                    }
                    throw LineClientError.io("send", errno: code)
                }
            }
        }
    }

    /// The next reply line, without its line ending.
    public func readLine(timeout: Double = 10) throws -> String {
        let deadline = monotonicNow() + timeout
        while true {
            if let line = takeLine() { return line }
            if peerClosed { throw LineClientError.closed("reading a line") }
            let remaining = deadline - monotonicNow()
            guard remaining > 0 else {
                throw LineClientError.timeout("reading a line after \(timeout) s")
            }
            if wait(for: Int16(POLLIN), timeout: min(remaining, 1)) { try fill() }
        }
    }

    /// One reply: a line, or a bulk string (`$<length>` then its text) returned as `$` and
    /// its text on one line (`PING hi` answers `$hi`); a null bulk string is `$-1`.
    public func readReply(timeout: Double = 10) throws -> String {
        let line = try readLine(timeout: timeout)
        guard line.hasPrefix("$"), let length = Int(line.dropFirst()), length >= 0 else {
            return line
        }
        return "$" + (try readLine(timeout: timeout))
    }

    /// Sends `line` with CRLF and reads one reply.
    public func request(_ line: String, timeout: Double = 10) throws -> String {
        try send(line + "\r\n", timeout: timeout)
        return try readReply(timeout: timeout)
    }

    /// Sends every line (with CRLF) in one go, then reads one reply per line, in order.
    public func pipeline(_ lines: [String], timeout: Double = 120) throws -> [String] {
        let deadline = monotonicNow() + timeout
        var bytes: [UInt8] = []
        bytes.reserveCapacity(lines.count * 24)
        for line in lines {
            bytes.append(contentsOf: line.utf8)
            bytes.append(13)
            bytes.append(10)
        }
        try send(bytes: bytes, timeout: timeout)
        var replies: [String] = []
        replies.reserveCapacity(lines.count)
        for _ in lines {
            replies.append(try readReply(timeout: max(0.001, deadline - monotonicNow())))
        }
        return replies
    }

    /// Reads lines until the peer closes or `timeout` passes; returns what was read.
    public func readUntilClosed(timeout: Double) -> (lines: [String], closed: Bool) {
        let deadline = monotonicNow() + timeout
        var lines: [String] = []
        while monotonicNow() < deadline {
            do {
                lines.append(try readLine(timeout: max(0.001, deadline - monotonicNow())))
            } catch LineClientError.closed {
                return (lines, true)
            } catch {
                return (lines, peerClosed)
            }
        }
        return (lines, peerClosed)
    }

    /// True when the peer closes the connection (EOF or reset) within `timeout`. Bytes that
    /// arrive first are kept for `readLine`.
    public func isClosedByPeer(timeout: Double = 5) -> Bool {
        let deadline = monotonicNow() + timeout
        while !peerClosed {
            let remaining = deadline - monotonicNow()
            if remaining <= 0 { return false }
            if wait(for: Int16(POLLIN), timeout: min(remaining, 1)) {
                do { try fill() } catch { return true }
            }
        }
        return true
    }

    /// RESP array of bulk strings, as Redis clients send it.
    public static func resp(_ arguments: [String]) -> String {
        var text = "*\(arguments.count)\r\n"
        for argument in arguments { text += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
        return text
    }

    /// The next `count` bytes exactly (a RESP bulk string's body).
    public func readBytes(_ count: Int, timeout: Double = 10) throws -> [UInt8] {
        let deadline = monotonicNow() + timeout
        while buffer.count - consumed < count {
            if peerClosed { throw LineClientError.closed("reading \(count) bytes") }
            let remaining = deadline - monotonicNow()
            guard remaining > 0 else { throw LineClientError.timeout("reading \(count) bytes") }
            if wait(for: Int16(POLLIN), timeout: min(remaining, 1)) { try fill() }
        }
        let bytes = Array(buffer[consumed..<consumed + count])
        consumed += count
        scanned = 0
        if consumed == buffer.count {
            buffer.removeAll(keepingCapacity: true)
            consumed = 0
        }
        return bytes
    }

    // MARK: - Internals

    private func wait(for events: Int16, timeout: Double) -> Bool {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        let ready = Glibc.poll(&pfd, 1, Int32(max(0, timeout) * 1000) + 1)
        return ready > 0
    }

    /// Reads what is available (at most a few chunks) into the buffer.
    private func fill() throws {
        var chunk = [UInt8](repeating: 0, count: 65536)
        for _ in 0..<16 {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 {
                buffer.append(contentsOf: chunk[0..<count])
                if count < chunk.count { return }
            } else if count == 0 {
                peerClosed = true
                return
            } else {
                let code = errno
                if code == EAGAIN || code == EINTR { return }
                if code == ECONNRESET { peerClosed = true; return }
                throw LineClientError.io("recv", errno: code)
            }
        }
    }

    private func takeLine() -> String? {
        var index = consumed + scanned
        while index < buffer.count {
            if buffer[index] == 10 {
                var end = index
                if end > consumed && buffer[end - 1] == 13 { end -= 1 }
                let line = String(decoding: buffer[consumed..<end], as: UTF8.self)
                consumed = index + 1
                scanned = 0
                if consumed > 1 << 20 || consumed == buffer.count {
                    buffer.removeFirst(consumed)
                    consumed = 0
                }
                return line
            }
            index += 1
        }
        scanned = buffer.count - consumed
        return nil
    }
}
