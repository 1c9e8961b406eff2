// A TCP proxy on loopback that the nemesis puts between two parties (clients and a kezekd, a
// kezekd and Redis) to break the network between them without network namespaces: a partition
// stalls every byte both ways (TCP keeps the bytes; they arrive, late, when it heals), a delay
// holds each chunk, a reset closes every connection with RST.
import Foundation
#if canImport(Glibc)
    import Glibc
#endif

final class FaultProxy: @unchecked Sendable {
    enum Mode: Equatable { case pass, partition, delay(milliseconds: Int) }

    let port: UInt16
    let upstream: UInt16
    private let lock = NSLock()
    private var mode = Mode.pass
    /// Bumped by `resetAll`: a connection of an older generation closes with RST.
    private var generation = 0
    private let listener: Int32

    init(upstream: UInt16) throws {
        self.upstream = upstream
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, listen(fd, 128) == 0 else { throw NemesisError("proxy: cannot listen") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        port = UInt16(bigEndian: address.sin_port)
        listener = fd
        Thread.detachNewThread { [self] in acceptLoop() }
    }

    func set(_ newMode: Mode) { lock.withLock { mode = newMode } }
    var current: Mode { lock.withLock { mode } }
    func resetAll() { lock.withLock { generation += 1 } }

    private func acceptLoop() {
        while true {
            let client = accept(listener, nil, nil)
            if client < 0 { continue }
            let born = lock.withLock { generation }
            Thread.detachNewThread { [self] in connectAndPump(client, born) }
        }
    }

    private func connectAndPump(_ client: Int32, _ born: Int) {
        while current == .partition && lock.withLock({ generation }) == born { usleep(20_000) }
        guard let server = try? Self.connectUpstream(upstream) else {
            Self.closeWithReset(client)
            return
        }
        let done = Done()
        Thread.detachNewThread { [self] in pump(from: server, to: client, born, done) }
        pump(from: client, to: server, born, done)
    }

    private final class Done: @unchecked Sendable {
        let lock = NSLock()
        var closed = 0
    }

    private func pump(from source: Int32, to target: Int32, _ born: Int, _ done: Done) {
        var chunk = [UInt8](repeating: 0, count: 16_384)
        defer {
            let last = done.lock.withLock {
                done.closed += 1; return done.closed == 2
            }
            shutdown(source, Int32(SHUT_RDWR))
            shutdown(target, Int32(SHUT_RDWR))
            if last {
                Self.closeWithReset(source)
                Self.closeWithReset(target)
            }
        }
        while true {
            let (mode, generation) = lock.withLock { (self.mode, self.generation) }
            if generation != born { return }
            if mode == .partition {
                usleep(20_000)
                continue
            }
            var poller = pollfd(fd: source, events: Int16(POLLIN), revents: 0)
            if poll(&poller, 1, 50) <= 0 { continue }
            let n = chunk.withUnsafeMutableBytes { recv(source, $0.baseAddress, $0.count, 0) }
            if n <= 0 { return }
            if case .delay(let milliseconds) = mode { usleep(UInt32(milliseconds) * 1000) }
            while lock.withLock({ self.mode == .partition && self.generation == born }) {
                usleep(20_000)
            }
            if lock.withLock({ self.generation }) != born { return }
            var sent = 0
            while sent < n {
                let written = chunk.withUnsafeBytes {
                    send(target, $0.baseAddress! + sent, n - sent, Int32(MSG_NOSIGNAL))
                }
                if written <= 0 { return }
                sent += written
            }
        }
    }

    static func connectUpstream(_ port: UInt16) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            close(fd)
            throw NemesisError("proxy: upstream \(port) refused")
        }
        return fd
    }

    static func closeWithReset(_ fd: Int32) {
        var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
        close(fd)
    }
}

struct NemesisError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
