import Foundation
import XCTest
@testable import KezekCore
import KezekTestSupport

/// The load's fast reply path (`RedisSyncConnection.flatReplyOrError`, C in kz_flat_reply.c)
/// against a real Redis: every kind of reply it can meet reads as the usual path reads it,
/// pipelined with the usual path in between.
final class FlatReplyTests: IntegrationTestCase {
    func testEveryKindOfReplyReadsAsTheUsualPathReadsIt() throws {
        redis = try RedisServerProcess(directory: directory.appendingPathComponent("redis"))
        try redis.start()
        let connection = try RedisSyncConnection(
            endpoint: .init(host: "127.0.0.1", port: redis.port))
        // A set large enough to arrive over many socket reads, with an empty and a long member.
        let members =
            (0..<50_000).map { "holder-\($0)" } + ["", String(repeating: "x", count: 70_000)]
        for start in stride(from: 0, to: members.count, by: 5_000) {
            _ = try connection.command(
                ["SADD", "set"] + members[start..<min(start + 5_000, members.count)])
        }
        _ = try connection.command(["ZADD", "zset", "1", "a", "2.5", "b"])
        _ = try connection.command(["HSET", "hash", "f", "v", "g", ""])
        _ = try connection.command(["SET", "text", "value"])

        let commands: [[String]] = [
            ["SMEMBERS", "set"], ["ZRANGE", "zset", "0", "-1", "WITHSCORES"], ["HGETALL", "hash"],
            ["SMEMBERS", "missing"], ["GET", "missing"], ["SMEMBERS", "text"], ["GET", "text"],
            ["PING"],
            ["SCARD", "set"], ["EVAL", "return {'a', {'nested'}, 3}", "0"], ["SMEMBERS", "set"],
        ]
        // Each through the fast path, with an ECHO read the usual way after it in one pipeline.
        for command in commands {
            connection.append(command)
            connection.append(["ECHO", "between"])
        }
        var flat: [FlatReply] = []
        for _ in commands {
            flat.append(try connection.flatReplyOrError())
            XCTAssertEqual(try connection.replyOrError().string, "between")
        }
        for command in commands { connection.append(command) }
        let usual = try commands.map { _ in try connection.replyOrError() }

        let nestedIndex = commands.firstIndex { $0[0] == "EVAL" }!
        for (index, command) in commands.enumerated() where index != nestedIndex {
            let expected = describe(.other(usual[index])).replacingOccurrences(
                of: "other:array:", with: "strings:")
            XCTAssertEqual(describe(flat[index]), expected, "\(command)")
        }
        guard case .strings(let set) = flat[0] else {
            return XCTFail("SMEMBERS: \(describe(flat[0]))")
        }
        XCTAssertEqual(set.sorted(), members.sorted())
        guard case .other(.array(let nested)) = flat[nestedIndex] else {
            return XCTFail("EVAL: \(describe(flat[nestedIndex]))")
        }
        XCTAssertTrue(
            nested.contains { if case .null = $0 { true } else { false } },
            "a nested reply must read as bad data")
    }

    /// A connection that fails in the middle of a reply throws, and the connection is freed
    /// without handing hiredis an object it did not make (this crashed before).
    func testAReplyCutShortThrowsAndTheConnectionIsFreedCleanly() throws {
        let server = try CutShortServer(reply: "*3\r\n$1\r\na\r\n$1\r\nb\r\n")
        var connection: RedisSyncConnection? = try RedisSyncConnection(
            endpoint: .init(host: "127.0.0.1", port: server.port),
            replyTimeoutMillis: 5_000)
        connection!.append(["SMEMBERS", "set"])
        XCTAssertThrowsError(try connection!.flatReplyOrError())
        connection = nil
        server.join()
    }

    /// One line per reply, arrays element by element.
    private func describe(_ reply: FlatReply) -> String {
        switch reply {
        case .strings(let strings): "strings:" + strings.joined(separator: "|")
        case .other(let value): "other:" + describe(value)
        }
    }

    private func describe(_ value: RedisValue) -> String {
        switch value {
        case .string(let text): "string(\(text))"
        case .integer(let number): "integer(\(number))"
        case .null: "null"
        case .error(let text): "error(\(text))"
        case .array(let items):
            "array:" + items.map { $0.string ?? describe($0) }.joined(separator: "|")
        }
    }
}

/// A server on a free loopback port that answers its first client's first read with `reply`
/// (a reply left unfinished) and closes the connection.
private final class CutShortServer: @unchecked Sendable {
    let port: Int
    private let listener: Int32
    private let thread: Thread

    init(reply: String) throws {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.listener = listener
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(listener, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, Glibc.listen(listener, 1) == 0 else {
            throw TestSetupError("cannot listen on a loopback port")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(listener, $0, &length)
            }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        thread = Thread {
            let client = accept(listener, nil, nil)
            guard client >= 0 else { return }
            var buffer = [UInt8](repeating: 0, count: 4096)
            _ = read(client, &buffer, buffer.count)
            _ = reply.withCString { write(client, $0, strlen($0)) }
            close(client)
        }
        thread.start()
    }

    func join() {
        while !thread.isFinished { usleep(1_000) }
        close(listener)
    }
}
