// Requests encoded once, before the clock starts, into one contiguous buffer: inline lines
// ("BOOK p h WAIT\r\n") or, with `--resp`, RESP arrays of bulk strings as Redis clients send
// them. Read-only once built, so worker threads share it.
final class RequestBatch {
    enum Encoding { case inline, resp }

    /// Set once from the command line before any batch is built.
    nonisolated(unsafe) static var defaultEncoding = Encoding.inline

    private var buffer = ByteBuffer(capacity: 1 << 16)
    private var offsets: [Int] = [0]
    let encoding: Encoding

    var count: Int { offsets.count - 1 }

    init(encoding: Encoding = RequestBatch.defaultEncoding) { self.encoding = encoding }

    /// Appends one request made of the given tokens, separated by single spaces.
    func add(_ tokens: String...) { add(tokens) }

    func add(_ tokens: [String]) {
        switch encoding {
        case .inline:
            for (n, token) in tokens.enumerated() {
                if n > 0 { buffer.append(" ") }
                buffer.append(token)
            }
            buffer.append("\r\n")
        case .resp:
            buffer.append("*\(tokens.count)\r\n")
            for token in tokens {
                buffer.append("$\(token.utf8.count)\r\n")
                buffer.append(token)
                buffer.append("\r\n")
            }
        }
        offsets.append(buffer.count)
    }

    /// The encoded bytes of request `i` (line terminator included).
    @inline(__always)
    func request(_ i: Int) -> UnsafeRawBufferPointer {
        let start = offsets[i]
        return UnsafeRawBufferPointer(start: buffer.base + start, count: offsets[i + 1] - start)
    }

    deinit { buffer.free() }
}
