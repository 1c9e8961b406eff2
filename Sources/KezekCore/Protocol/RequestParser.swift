/// Incremental parser for inline lines and RESP arrays of bulk strings.
///
/// Contract: `parse` is handed the bytes of the current request from its first byte on, as
/// many as have arrived. It either completes the request (its token ranges are then in
/// `tokens`, relative to the first byte), skips an empty request, asks for more bytes, or
/// fails. On `.needMore` it remembers how far it has checked, so the next call with a longer
/// view of the same request continues there: no byte is scanned twice. After `.complete` or
/// `.empty` the caller drops `length` bytes and calls again for the next request.
public struct RequestParser {
    public enum Progress: Equatable {
        /// A request of `length` bytes; its tokens are in `tokens`.
        case complete(length: Int)
        /// An empty line or empty array of `length` bytes: no reply.
        case empty(length: Int)
        case needMore
        case failure(ProtocolError)
    }

    /// Token ranges (start, count) relative to the request's first byte. At most
    /// `maxKeptTokens` are kept (inline storage: copying the parser allocates and retains
    /// nothing); `tokenCount` counts all of them.
    public private(set) var tokenStarts = InlineArray<8, Int>(repeating: 0)
    public private(set) var tokenLengths = InlineArray<8, Int>(repeating: 0)
    public private(set) var tokenCount = 0
    public static let maxKeptTokens = 8

    public let maxRequestBytes: Int

    private enum Phase { case start, inline, arrayHeader, bulkHeader, bulkData(length: Int) }
    private var phase = Phase.start
    /// Offset of the first byte not yet checked.
    private var cursor = 0
    private var elementsLeft = 0
    /// How far an unfinished header line ("*N" or "$N") has been scanned for its newline.
    private var headerScanned = 0
    /// Header numbers past this are invalid: far above any limit, far below overflow.
    static let largestHeaderNumber = 1 << 40

    public init(maxRequestBytes: Int) {
        self.maxRequestBytes = maxRequestBytes
    }

    public mutating func parse(_ bytes: UnsafeRawBufferPointer) -> Progress {
        while true {
            switch phase {
            case .start:
                guard !bytes.isEmpty else { return .needMore }
                resetTokens()
                cursor = 0
                if bytes[0] == UInt8(ascii: "*") {
                    phase = .arrayHeader
                } else {
                    phase = .inline
                }
            case .inline:
                return parseInline(bytes)
            case .arrayHeader:
                guard let (value, next) = readNumberLine(bytes, from: 1) else {
                    return waitForHeader(bytes)
                }
                // A header that does not end within the limit is too large however it arrived.
                guard next <= maxRequestBytes else { return fail(.requestTooLarge) }
                guard let count = value else { return fail(.invalidMultibulkLength) }
                if count <= 0 {
                    phase = .start
                    return .empty(length: next)
                }
                // Every element takes at least "$0\r\n\r\n": refuse counts that cannot fit.
                guard count <= maxRequestBytes / 6 else { return fail(.requestTooLarge) }
                elementsLeft = count
                cursor = next
                phase = .bulkHeader
            case .bulkHeader:
                guard cursor < bytes.count else { return .needMore }
                guard bytes[cursor] == UInt8(ascii: "$") else {
                    return fail(.expectedBulk(got: bytes[cursor]))
                }
                guard let (value, next) = readNumberLine(bytes, from: cursor + 1) else {
                    return waitForHeader(bytes)
                }
                guard next <= maxRequestBytes else { return fail(.requestTooLarge) }
                guard let length = value, length >= 0 else { return fail(.invalidBulkLength) }
                guard next + length + 2 <= maxRequestBytes else { return fail(.requestTooLarge) }
                cursor = next
                phase = .bulkData(length: length)
            case .bulkData(let length):
                guard cursor + length + 2 <= bytes.count else { return .needMore }
                guard bytes[cursor + length] == UInt8(ascii: "\r"),
                    bytes[cursor + length + 1] == UInt8(ascii: "\n")
                else {
                    return fail(.missingCRLF)
                }
                addToken(start: cursor, length: length)
                cursor += length + 2
                elementsLeft -= 1
                if elementsLeft == 0 {
                    phase = .start
                    return .complete(length: cursor)
                }
                phase = .bulkHeader
            }
        }
    }

    /// Scans for the newline from where the last call stopped; tokenises once it is found.
    private mutating func parseInline(_ bytes: UnsafeRawBufferPointer) -> Progress {
        let limit = min(bytes.count, maxRequestBytes + 2)
        var newline = -1
        var index = cursor
        while index < limit {
            if bytes[index] == UInt8(ascii: "\n") {
                newline = index
                break
            }
            index += 1
        }
        guard newline >= 0 else {
            cursor = index
            // Allow a trailing "\r" past the limit; anything more is too long.
            return bytes.count > maxRequestBytes + 1 ? fail(.lineTooLong) : .needMore
        }
        var end = newline
        if end > 0 && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        guard end <= maxRequestBytes else { return fail(.lineTooLong) }
        var position = 0
        while position < end {
            let byte = bytes[position]
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                position += 1
                continue
            }
            let start = position
            while position < end && bytes[position] != UInt8(ascii: " ")
                && bytes[position] != UInt8(ascii: "\t")
            {
                position += 1
            }
            addToken(start: start, length: position - start)
        }
        phase = .start
        return tokenCount == 0 ? .empty(length: newline + 1) : .complete(length: newline + 1)
    }

    /// Reads an integer ended by "\r\n" (or "\n") starting at `from`. Returns nil when the line
    /// is not complete yet; `value` is nil when the line is not a valid integer.
    private mutating func readNumberLine(_ bytes: UnsafeRawBufferPointer, from: Int) -> (
        value: Int?, next: Int
    )? {
        var index = max(from, headerScanned)
        while index < bytes.count && bytes[index] != UInt8(ascii: "\n") {
            index += 1
            if index - from > 20 { return (nil, index) }
        }
        guard index < bytes.count else {
            headerScanned = index
            return nil
        }
        headerScanned = 0
        var end = index
        if end > from && bytes[end - 1] == UInt8(ascii: "\r") { end -= 1 }
        var negative = false
        var position = from
        if position < end && bytes[position] == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard position < end else { return (nil, index + 1) }
        var value = 0
        while position < end {
            let digit = Int(bytes[position]) - 48
            // A count past any limit is as invalid as a letter (and must not overflow).
            guard digit >= 0 && digit <= 9, value <= Self.largestHeaderNumber else {
                return (nil, index + 1)
            }
            value = value * 10 + digit
            position += 1
        }
        return (negative ? -value : value, index + 1)
    }

    /// A header line without its newline yet: too large once the request passes the limit
    /// (its end can then only fall past the limit too), else wait for more bytes.
    private mutating func waitForHeader(_ bytes: UnsafeRawBufferPointer) -> Progress {
        bytes.count > maxRequestBytes ? fail(.requestTooLarge) : .needMore
    }

    private mutating func fail(_ error: ProtocolError) -> Progress {
        phase = .start
        headerScanned = 0
        return .failure(error)
    }

    private mutating func resetTokens() {
        tokenCount = 0
    }

    private mutating func addToken(start: Int, length: Int) {
        if tokenCount < Self.maxKeptTokens {
            tokenStarts[tokenCount] = start
            tokenLengths[tokenCount] = length
        }
        tokenCount += 1
    }
}
