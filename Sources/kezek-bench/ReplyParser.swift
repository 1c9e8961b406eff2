// Incremental reply parsing: bytes arrive in arbitrary chunks, replies are single lines ending
// in "\r\n". Complete lines are handed out in place (no copy) when they lie inside one chunk;
// only a line split across chunks is copied into a small carry buffer.
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

struct LineSplitter {
    private var carry = ByteBuffer(capacity: 256)

    /// Feeds a chunk and calls `body` once per complete line (without "\r\n"). Empty lines are
    /// skipped: the protocol never sends one.
    @inline(__always)
    mutating func feed(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var start = 0
        while start < n {
            guard let hit = memchr(p + start, 0x0A, n - start) else {
                carry.append(p + start, n - start)
                return
            }
            let end = UnsafePointer<UInt8>(hit.assumingMemoryBound(to: UInt8.self)) - p
            if carry.count > 0 {
                carry.append(p + start, end - start)
                Self.emit(carry.base, carry.count, body)
                carry.removeAll()
            } else {
                Self.emit(p + start, end - start, body)
            }
            start = end + 1
        }
    }

    @inline(__always)
    private static func emit(
        _ p: UnsafePointer<UInt8>, _ n: Int, _ body: (UnsafeRawBufferPointer) -> Void
    ) {
        var len = n
        if len > 0 && p[len - 1] == 0x0D { len -= 1 }
        if len > 0 { body(UnsafeRawBufferPointer(start: p, count: len)) }
    }

    /// Bytes of an unfinished line held back.
    var pendingBytes: Int { carry.count }

    func free() { carry.free() }
}

/// Classifies one reply line: its kind and, where the reply carries one, its number
/// (`+BOOKED <free>`, `+WAITING <pos>`, `+CANCELLED <free>`, `:N`); -1 when there is none.
enum ReplyClassifier {
    @inline(__always)
    static func classify(_ line: UnsafeRawBufferPointer) -> (kind: ObservedReply, value: Int64) {
        guard let first = line.first else { return (.malformed, -1) }
        switch first {
        case UInt8(ascii: "+"):
            let wordEnd = Self.wordEnd(line, from: 1)
            let kind = statusKind(line, 1, wordEnd)
            return (kind, number(line, from: wordEnd + 1))
        case UInt8(ascii: "-"):
            return (.error, -1)
        case UInt8(ascii: ":"):
            return (.integer, number(line, from: 1))
        case UInt8(ascii: "$"):
            return (.otherStatus, -1)
        default:
            return (.malformed, -1)
        }
    }

    /// The code of an error reply ("UNAVAILABLE" for "-UNAVAILABLE redis down").
    static func errorCode(_ line: UnsafeRawBufferPointer) -> String {
        let end = wordEnd(line, from: 1)
        return end > 1 ? String(decoding: line[1..<end], as: UTF8.self) : "-"
    }

    @inline(__always)
    static func wordEnd(_ line: UnsafeRawBufferPointer, from start: Int) -> Int {
        var i = start
        while i < line.count && line[i] != 0x20 { i += 1 }
        return i
    }

    @inline(__always)
    private static func statusKind(_ line: UnsafeRawBufferPointer, _ s: Int, _ e: Int)
        -> ObservedReply
    {
        @inline(__always) func eq(_ word: StaticString) -> Bool {
            guard word.utf8CodeUnitCount == e - s else { return false }
            let w = word.utf8Start
            for k in 0..<(e - s) where line[s + k] != w[k] { return false }
            return true
        }
        switch e - s {
        case 2: return eq("OK") ? .ok : .otherStatus
        case 3: return eq("BYE") ? .bye : .otherStatus
        case 4:
            if eq("FULL") { return .full }
            if eq("PONG") { return .pong }
            if eq("NONE") { return .idle }
            return .otherStatus
        case 5:
            if eq("LIMIT") { return .limit }
            if eq("SEATS") { return .seats }
            return .otherStatus
        case 6: return eq("BOOKED") ? .booked : .otherStatus
        case 7: return eq("WAITING") ? .waiting : .otherStatus
        case 8: return eq("NOTFOUND") ? .notFound : .otherStatus
        case 9: return eq("CANCELLED") ? .cancelled : .otherStatus
        default: return .otherStatus
        }
    }

    @inline(__always)
    static func number(_ line: UnsafeRawBufferPointer, from start: Int) -> Int64 {
        var i = start
        var negative = false
        if i < line.count && line[i] == UInt8(ascii: "-") { negative = true; i += 1 }
        var v: Int64 = 0
        var digits = 0
        while i < line.count, line[i] >= 0x30, line[i] <= 0x39, digits < 18 {
            v = v * 10 + Int64(line[i] - 0x30)
            i += 1
            digits += 1
        }
        if digits == 0 { return -1 }
        return negative ? -v : v
    }
}

/// Fields of a `+SEATS capacity=<c> booked=<b> free=<f> waiting=<w> refused=<r>` reply.
struct SeatsReply: Equatable {
    var capacity = -1, booked = -1, free = -1, waiting = -1, refused = -1
    /// Seats held by offers awaiting CONFIRM (`offered=`, present when `offer-ttl` > 0).
    var offered = 0

    /// Parses the reply text; nil unless it is a SEATS reply with all four main fields.
    init?(_ text: Substring) {
        guard text.hasPrefix("+SEATS") else { return nil }
        for field in text.dropFirst(6).split(separator: " ") {
            let kv = field.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let n = Int(kv[1]) else { continue }
            switch kv[0] {
            case "capacity": capacity = n
            case "booked": booked = n
            case "free": free = n
            case "waiting": waiting = n
            case "refused": refused = n
            case "offered": offered = n
            default: break
            }
        }
        if capacity < 0 || booked < 0 || free < 0 || waiting < 0 { return nil }
    }
}
