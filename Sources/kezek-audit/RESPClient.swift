import Glibc

/// A small blocking RESP client for kezek-audit: it talks to Redis (to read the audit
/// streams) and to kezekd (to read what the daemon serves), both on loopback.
final class RESPClient {
    indirect enum Value {
        case simple(String)
        case error(String)
        case integer(Int)
        case bulk(String?)
        case array([Value]?)

        var text: String? {
            switch self {
            case .simple(let text), .error(let text): text
            case .bulk(let text): text
            case .integer(let value): String(value)
            case .array: nil
            }
        }
        var items: [Value] { if case .array(let items?) = self { items } else { [] } }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    private let socket: Int32
    private var buffer: [UInt8] = []
    private var position = 0

    /// `address` is HOST:PORT with a loopback host.
    init(_ address: String) throws {
        guard let colon = address.lastIndex(of: ":"), let port = UInt16(address[address.index(after: colon)...]) else {
            throw Failure(description: "expected HOST:PORT, got '\(address)'")
        }
        let host = String(address[..<colon])
        var ipv4 = in_addr()
        guard inet_pton(AF_INET, host == "localhost" ? "127.0.0.1" : host, &ipv4) == 1, ipv4.s_addr & 0xff == 127 else {
            throw Failure(description: "only loopback IPv4 addresses (127.0.0.0/8) are targets, got '\(host)'")
        }
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { throw Failure(description: "socket: errno \(errno)") }
        var target = sockaddr_in()
        target.sin_family = sa_family_t(AF_INET)
        target.sin_port = port.bigEndian
        target.sin_addr = ipv4
        let connected = withUnsafePointer(to: &target) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(socket)
            throw Failure(description: "cannot connect to \(address): errno \(errno)")
        }
        var timeout = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    func command(_ arguments: [String]) throws -> Value {
        try pipeline([arguments])[0]
    }

    /// Sends every command, then reads one reply each.
    func pipeline(_ commands: [[String]]) throws -> [Value] {
        var out: [UInt8] = []
        for arguments in commands {
            out += Array("*\(arguments.count)\r\n".utf8)
            for argument in arguments {
                out += Array("$\(argument.utf8.count)\r\n".utf8) + Array(argument.utf8) + [13, 10]
            }
        }
        var sent = 0
        while sent < out.count {
            let written = out[sent...].withUnsafeBytes { send(socket, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard written > 0 else { throw Failure(description: "send failed: errno \(errno)") }
            sent += written
        }
        return try commands.map { _ in try read() }
    }

    private func read() throws -> Value {
        let line = try readLine()
        guard let kind = line.first else { throw Failure(description: "empty reply line") }
        let rest = String(line.dropFirst())
        switch kind {
        case "+": return .simple(rest)
        case "-": return .error(rest)
        case ":": return .integer(Int(rest) ?? 0)
        case "$":
            guard let length = Int(rest), length >= 0 else { return .bulk(nil) }
            try fill(length + 2)
            let text = String(decoding: buffer[position..<position + length], as: UTF8.self)
            position += length + 2
            return .bulk(text)
        case "*":
            guard let count = Int(rest), count >= 0 else { return .array(nil) }
            return .array(try (0..<count).map { _ in try read() })
        default:
            throw Failure(description: "unexpected reply line '\(line)'")
        }
    }

    private func readLine() throws -> String {
        while true {
            if let end = buffer[position...].firstIndex(of: 10) {
                let line = buffer[position..<end].last == 13 ? buffer[position..<end - 1] : buffer[position..<end]
                position = end + 1
                return String(decoding: line, as: UTF8.self)
            }
            try receive()
        }
    }

    private func fill(_ count: Int) throws {
        while buffer.count - position < count { try receive() }
    }

    private func receive() throws {
        if position > 0 {
            buffer.removeFirst(position)
            position = 0
        }
        var chunk = [UInt8](repeating: 0, count: 65536)
        let received = chunk.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
        guard received > 0 else { throw Failure(description: received == 0 ? "connection closed" : "recv failed: errno \(errno)") }
        buffer += chunk[..<received]
    }
}
