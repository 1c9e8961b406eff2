#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import Synchronization

/// Ports `freePort` handed out in this process: the kernel may offer a just-closed port
/// again (it gave one port to both --listen and --admin-listen once), so none repeats.
private let handedOut = Mutex<Set<Int>>([])

/// A loopback TCP port that was free a moment ago and not handed out before in this process.
/// Another process could take it before we use it; on loopback in a test run that is rare.
public func freePort() -> Int {
    while true {
        let port = kernelFreePort()
        if handedOut.withLock({ $0.insert(port).inserted }) { return port }
    }
}

/// Bind port 0, read the port back, close.
private func kernelFreePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    let opened = fd >= 0
    precondition(opened, "socket() failed: \(errno)")
    defer { close(fd) }
    var address = loopbackAddress(port: 0)
    let bound = withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    let isBound = bound == 0
    precondition(isBound, "bind() failed: \(errno)")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}
