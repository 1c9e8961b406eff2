/// A RESP reply as Redis (or kezekd's RESP side) sends it.
public indirect enum RESPValue: Equatable, Sendable {
    case simple(String)
    case error(String)
    case integer(Int)
    case bulk(String?)
    case array([RESPValue]?)

    /// The text of a status, error or bulk string, or an integer written out; nil for arrays.
    public var text: String? {
        switch self {
        case .simple(let text), .error(let text): text
        case .bulk(let text): text
        case .integer(let value): String(value)
        case .array: nil
        }
    }

    /// The items of an array; none for anything else.
    public var items: [RESPValue] { if case .array(let items?) = self { items } else { [] } }
}

extension LineClient {
    /// Sends one RESP command and reads its reply.
    public func command(_ arguments: [String], timeout: Double = 30) throws -> RESPValue {
        try commands([arguments], timeout: timeout)[0]
    }

    /// Sends every command in one write, then reads one reply each, in order.
    public func commands(_ commands: [[String]], timeout: Double = 30) throws -> [RESPValue] {
        try send(commands.map(Self.resp).joined(), timeout: timeout)
        return try commands.map { _ in try readValue(timeout: timeout) }
    }

    /// Reads one RESP reply (bulk strings by their length, so they may hold line breaks).
    public func readValue(timeout: Double = 30) throws -> RESPValue {
        let line = try readLine(timeout: timeout)
        guard let kind = line.first else { throw LineClientError.unexpectedReply(line) }
        let rest = String(line.dropFirst())
        switch kind {
        case "+": return .simple(rest)
        case "-": return .error(rest)
        case ":": return .integer(Int(rest) ?? 0)
        case "$":
            guard let length = Int(rest), length >= 0 else { return .bulk(nil) }
            let body = try readBytes(length + 2, timeout: timeout)
            return .bulk(String(decoding: body.dropLast(2), as: UTF8.self))
        case "*":
            guard let count = Int(rest), count >= 0 else { return .array(nil) }
            return .array(try (0..<count).map { _ in try readValue(timeout: timeout) })
        default:
            throw LineClientError.unexpectedReply(line)
        }
    }
}
