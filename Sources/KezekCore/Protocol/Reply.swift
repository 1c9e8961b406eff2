/// A reply line. Kept as a small value (no bytes) so that a reply waiting for Redis costs no
/// allocation; it is encoded once, when it is written.
public enum Reply: Equatable, Sendable {
    case booked(free: Int)
    case bookedStatus
    /// STATUS of a holder with an offer: `+OFFERED <seconds-left>`.
    case offeredStatus(secondsLeft: Int)
    case waiting(position: Int)
    case full(provider: String)
    case limit(holder: String)
    case cancelled(free: Int)
    case notFound(holder: String)
    case none
    case seats(SeatsSnapshot)
    case ok
    case simple(String)
    /// A bulk string (`$<length>` then the bytes, as they came): for text a client chose,
    /// which may hold CR LF or any byte and so must never travel as a `+` line.
    case bulk([UInt8])
    /// Bytes already encoded (by `RESPWriter`, for the Redis-compatibility commands).
    case raw([UInt8])
    case bye
    case error(String)

    public func encode(into out: inout [UInt8]) {
        switch self {
        case .booked(let free): Self.appendSimple("BOOKED ", number: free, into: &out)
        case .bookedStatus: Self.append("+BOOKED\r\n", into: &out)
        case .offeredStatus(let seconds): Self.appendSimple("OFFERED ", number: seconds, into: &out)
        case .waiting(let position): Self.appendSimple("WAITING ", number: position, into: &out)
        case .full(let provider): Self.appendLine("+FULL ", provider, into: &out)
        case .limit(let holder): Self.appendLine("+LIMIT ", holder, into: &out)
        case .cancelled(let free): Self.appendSimple("CANCELLED ", number: free, into: &out)
        case .notFound(let holder): Self.appendLine("+NOTFOUND ", holder, into: &out)
        case .none: Self.append("+NONE\r\n", into: &out)
        case .seats(let seats):
            let offered = seats.offered.map { " offered=\($0)" } ?? ""
            let over = seats.over > 0 ? " over=\(seats.over)" : ""
            Self.appendLine(
                "+",
                "SEATS capacity=\(seats.capacity) booked=\(seats.booked) free=\(seats.free) waiting=\(seats.waiting) refused=\(seats.refused)\(offered)\(over)",
                into: &out)
        case .ok: Self.append("+OK\r\n", into: &out)
        case .simple(let text): Self.appendLine("+", text, into: &out)
        case .bulk(let bytes):
            out.append(UInt8(ascii: "$"))
            Self.appendDecimal(bytes.count, into: &out)
            out.append(13)
            out.append(10)
            out.append(contentsOf: bytes)
            out.append(13)
            out.append(10)
        case .raw(let bytes): out.append(contentsOf: bytes)
        case .bye: Self.append("+BYE\r\n", into: &out)
        case .error(let text): Self.appendLine("-", text, into: &out)
        }
    }

    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    private static func append(_ text: StaticString, into out: inout [UInt8]) {
        out.append(
            contentsOf: UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
    }

    private static func appendLine(_ prefix: StaticString, _ text: String, into out: inout [UInt8])
    {
        append(prefix, into: &out)
        out.append(contentsOf: text.utf8)
        out.append(13)
        out.append(10)
    }

    private static func appendSimple(_ word: StaticString, number: Int, into out: inout [UInt8]) {
        out.append(UInt8(ascii: "+"))
        append(word, into: &out)
        appendDecimal(number, into: &out)
        out.append(13)
        out.append(10)
    }

    static func appendDecimal(_ value: Int, into out: inout [UInt8]) {
        if value < 0 {
            out.append(UInt8(ascii: "-"))
            appendDecimal(-value, into: &out)
            return
        }
        if value < 10 {
            out.append(UInt8(48 + value))
            return
        }
        if value < 100 {  // most: RESP lengths, counts
            out.append(UInt8(48 + value / 10))
            out.append(UInt8(48 + value % 10))
            return
        }
        var digits:
            (
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8
            ) =
                (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        var rest = value
        withUnsafeMutableBytes(of: &digits) { buffer in
            while rest > 0 {
                buffer[19 - count] = UInt8(48 + rest % 10)
                rest /= 10
                count += 1
            }
            // Rebased to a buffer of its own: appending a `Slice` went element by element.
            out.append(contentsOf: UnsafeRawBufferPointer(rebasing: buffer[(20 - count)...]))
        }
    }
}

/// The counts SEATS reports for one provider.
public struct SeatsSnapshot: Equatable, Sendable {
    public var capacity: Int
    public var booked: Int
    public var waiting: Int
    public var refused: Int
    /// Seats offered and not yet confirmed; nil until the provider made its first offer
    /// (SEATS then shows `offered=`).
    public var offered: Int?
    public init(capacity: Int, booked: Int, waiting: Int, refused: Int, offered: Int? = nil) {
        self.capacity = capacity
        self.booked = booked
        self.waiting = waiting
        self.refused = refused
        self.offered = offered
    }
    public var free: Int { max(0, capacity - booked - (offered ?? 0)) }
    /// Bookings and offers past the capacity: an oversold provider found so in Redis (an
    /// operator's edit, a restore gone wrong). They are kept; SEATS shows `over=` meanwhile.
    public var over: Int { max(0, booked + (offered ?? 0) - capacity) }
}

extension Reply {
    /// The same outcome as a bulk string (`BOOKED 3` in a `$` reply instead of a `+` line),
    /// for a connection that asked for them (`CLIENT REPLY-STYLE bulk`); errors stay errors.
    var inBulk: Reply {
        var line: [UInt8] = []
        encode(into: &line)
        guard line.first == UInt8(ascii: "+"), line.count >= 3 else { return self }
        return .bulk(Array(line[1..<(line.count - 2)]))
    }
}
