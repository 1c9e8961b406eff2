// A private redis-server for the recovery benchmark: loopback, a free port, a temp dir, no
// persistence. It runs under `sh`, which SIGKILLs it and removes the dir as soon as its stdin
// (a pipe this process holds) closes: on `stop()`, and also if the benchmark process dies (then
// once the short-lived redis-cli children, which inherit the pipe, are gone too). SIGTERM would
// not do: the server inherits this process's signal mask, in which SIGTERM is blocked.
import Foundation
import Glibc

final class RedisFixture: @unchecked Sendable {
    let port: Int
    let directory: String
    private let shell: Process
    private let lifeline: Pipe

    struct Failure: Error, CustomStringConvertible { let description: String }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("kezek-bench-redis-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        port = try Self.freeLoopbackPort()
        lifeline = Pipe()
        shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        shell.arguments = ["-c", """
            redis-server --port \(port) --bind 127.0.0.1 --dir '\(directory)' --save '' --appendonly no \
              --daemonize no --logfile '\(directory)/redis.log' </dev/null &
            pid=$!
            cat >/dev/null
            exec 2>/dev/null
            kill -KILL $pid  # not TERM: this process's blocked-signal mask is inherited
            wait $pid
            rm -rf '\(directory)'
            """]
        shell.standardInput = lifeline
        try shell.run()
        for _ in 0..<100 {
            if (try? Self.run("redis-cli", ["-p", "\(port)", "PING"]))?.contains("PONG") == true { return }
            usleep(50_000)
        }
        stop()
        throw Failure(description: "redis-server did not answer on 127.0.0.1:\(port); see \(directory)/redis.log")
    }

    /// Kills the server (by closing the lifeline) and removes its directory.
    func stop() {
        try? lifeline.fileHandleForWriting.close()
        shell.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Sends `resp` (pipelined commands) with `redis-cli --pipe`; returns its summary line.
    func pipe(_ resp: [UInt8]) throws -> String {
        let file = directory + "/fill.resp"
        try Data(resp).write(to: URL(fileURLWithPath: file))
        defer { try? FileManager.default.removeItem(atPath: file) }
        let output = try Self.run("redis-cli", ["-p", "\(port)", "--pipe"], stdin: file)
        guard output.contains("errors: 0") else { throw Failure(description: "redis-cli --pipe: \(output)") }
        return output.split(separator: "\n").last.map(String.init) ?? output
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String], stdin: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        if let stdin { process.standardInput = FileHandle(forReadingAtPath: stdin) }
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// A port the kernel just handed out on 127.0.0.1 (free a moment ago).
    private static func freeLoopbackPort() throws -> Int {
        let socketFD = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socketFD >= 0 else { throw Failure(description: "socket: \(errno)") }
        defer { close(socketFD) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer in
                bind(socketFD, pointer, length) == 0 && getsockname(socketFD, pointer, &length) == 0
            }
        }
        guard bound else { throw Failure(description: "bind: \(errno)") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

/// Resident bytes of this process (/proc/self/statm, second field, in pages).
func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return 0 }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
