// libFuzzer target for RequestParser (Sources/KezekCore/Protocol/RequestParser.swift).
//
// Built by `make fuzz` (scripts/fuzz.sh) together with the parser's own source files into one
// module, so nothing in Package.swift is involved:
//   swiftc -sanitize=fuzzer,address -parse-as-library -module-name KezekCore \
//       Sources/KezekCore/Protocol/{RequestParser,ProtocolError}.swift fuzz/RequestParserFuzz.swift
//
// Input layout: byte 0 picks maxRequestBytes (low 3 bits) and the largest read size (high
// bits), byte 1 seeds the generator that cuts the rest into reads and decides when to replace
// the parser by a fresh one between requests (as AUTH does). Bytes 2... are the client stream.
//
// The stream is fed twice: in reads, exactly as ClientConnection.received/process does
// (unconsumed bytes kept and handed again from the current request's first byte on), and as
// one read. Both must give the same requests, skips and error. Every outcome is checked:
// lengths in 1...available, token ranges inside the request, tokenCount >= 1 on .complete,
// bounded buffering (.needMore only while the request can still fit), tokens equal to a
// reference tokenisation (inline) or framed by CRLF (RESP). A violation calls fatalError,
// which libFuzzer reports as a crash and saves the input.

#if canImport(Glibc)
import Glibc
#endif

/// KEZEK_FUZZ_ANY_ERROR=1: two failures at the same request count as equal whatever their
/// kind. Off by default; for fuzzing on past the known finding that the error kind depends on
/// how the stream was split (fuzz/repro/error-kind-depends-on-reads).
let anyErrorMatches: Bool = getenv("KEZEK_FUZZ_ANY_ERROR").map { String(cString: $0) == "1" } ?? false

func sameEvents(_ left: [Event], _ right: [Event]) -> Bool {
    guard left.count == right.count else { return false }
    for (a, b) in zip(left, right) where a != b {
        guard anyErrorMatches, case .failure = a, case .failure = b else { return false }
    }
    return true
}

let maxRequestChoices = [64, 65, 66, 70, 100, 128, 1024, 4096]
let maxReadChoices = [1, 2, 3, 7, 16, 64, 512, 1 << 20]

enum Event: Equatable, CustomStringConvertible {
    case request(length: Int, tokenCount: Int, tokens: [[UInt8]])
    case empty(length: Int)
    case failure(ProtocolError)

    var description: String {
        switch self {
        case .request(let length, let count, let tokens):
            "request(length: \(length), tokenCount: \(count), tokens: \(tokens.map { String(decoding: $0, as: UTF8.self).debugDescription }))"
        case .empty(let length): "skip(length: \(length))"
        case .failure(let error): "failure(\(error))"
        }
    }
}

struct Feed {
    var events: [Event] = []
    /// Bytes consumed by complete or skipped requests.
    var consumed = 0
    var failed = false
    /// Bytes kept for a request that has not fully arrived (when not failed).
    var pending = 0
}

/// Tiny deterministic generator (xorshift64*), so a saved crash input replays exactly.
struct Generator {
    var state: UInt64
    init(seed: UInt8, salt: UInt8) {
        state = 0x9E37_79B9_7F4A_7C15 ^ (UInt64(seed) << 8 | UInt64(salt))
        if state == 0 { state = 1 }
    }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }
}

func check(_ condition: @autoclosure () -> Bool, _ message: @autoclosure () -> String) {
    if !condition() { fatalError("RequestParser invariant: " + message()) }
}

/// A copy of `bytes` in an allocation of exactly its size, so that ASan reports any read
/// past the end of a view handed to the parser (views are always suffixes of such a copy).
func withExactCopy<R>(_ bytes: UnsafeRawBufferPointer, _ body: (UnsafeRawBufferPointer) -> R) -> R {
    let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(bytes.count, 1), alignment: 1)
    defer { copy.deallocate() }
    if bytes.count > 0 { copy.copyMemory(from: bytes) }
    return body(UnsafeRawBufferPointer(rebasing: copy[0..<bytes.count]))
}

/// Inline reference: the line without "\n" and one "\r" before it, split on spaces and tabs.
func referenceInlineTokens(_ request: UnsafeRawBufferPointer, length: Int) -> [[UInt8]] {
    var end = length - 1
    if end > 0 && request[end - 1] == 13 { end -= 1 }
    var tokens: [[UInt8]] = []
    var current: [UInt8] = []
    var inToken = false
    for index in 0..<end {
        let byte = request[index]
        if byte == 32 || byte == 9 {
            if inToken { tokens.append(current); current = []; inToken = false }
        } else {
            current.append(byte)
            inToken = true
        }
    }
    if inToken { tokens.append(current) }
    return tokens
}

/// Checks one outcome against the view it was computed from; returns the event it stands for.
func checkOutcome(_ outcome: RequestParser.Progress, parser: RequestParser, view: UnsafeRawBufferPointer,
                  absoluteStart: Int) -> Event? {
    let maxBytes = parser.maxRequestBytes
    let where_ = "request at stream offset \(absoluteStart), view of \(view.count) bytes, max \(maxBytes)"
    switch outcome {
    case .complete(let length):
        check(length > 0 && length <= view.count, "complete length \(length) not in 1...\(view.count); \(where_)")
        check(length <= maxBytes + 2, "complete length \(length) above the limit; \(where_)")
        check(parser.tokenCount >= 1, "complete with tokenCount \(parser.tokenCount); \(where_)")
        let kept = min(parser.tokenCount, RequestParser.maxKeptTokens)
        var tokens: [[UInt8]] = []
        var previousEnd = 0
        for index in 0..<kept {
            let start = parser.tokenStarts[index], count = parser.tokenLengths[index]
            check(start >= 0 && count >= 0 && start + count <= length,
                  "token \(index) range \(start)+\(count) outside the request of \(length) bytes; \(where_)")
            check(start >= previousEnd, "token \(index) at \(start) overlaps the previous one ending at \(previousEnd); \(where_)")
            previousEnd = start + count
            tokens.append(Array(view[start..<(start + count)]))
        }
        if view[0] == UInt8(ascii: "*") {
            check(view[length - 2] == 13 && view[length - 1] == 10, "RESP request does not end in CRLF; \(where_)")
            for index in 0..<kept {
                let end = parser.tokenStarts[index] + parser.tokenLengths[index]
                check(end + 2 <= length && view[end] == 13 && view[end + 1] == 10,
                      "RESP token \(index) not followed by CRLF; \(where_)")
            }
            if kept == parser.tokenCount {
                check(previousEnd + 2 == length, "last RESP token ends at \(previousEnd), request is \(length) bytes; \(where_)")
            }
        } else {
            check(view[length - 1] == 10, "inline request does not end in a newline; \(where_)")
            check(!view[0..<(length - 1)].contains(10), "inline request contains an earlier newline; \(where_)")
            let reference = referenceInlineTokens(view, length: length)
            check(reference.count == parser.tokenCount,
                  "inline tokenCount \(parser.tokenCount), reference \(reference.count); \(where_)")
            check(Array(reference.prefix(kept)) == tokens, "inline tokens \(tokens) differ from reference \(reference); \(where_)")
        }
        return .request(length: length, tokenCount: parser.tokenCount, tokens: tokens)
    case .empty(let length):
        check(length > 0 && length <= view.count, "skip length \(length) not in 1...\(view.count); \(where_)")
        if view[0] != UInt8(ascii: "*") {
            check(view[length - 1] == 10, "inline skip does not end at a newline; \(where_)")
            check(referenceInlineTokens(view, length: length).isEmpty, "skipped an inline line with tokens; \(where_)")
        }
        return .empty(length: length)
    case .needMore:
        // Bounded buffering: a request that can no longer fit must have failed by now.
        check(view.count <= maxBytes + 1, "needMore with \(view.count) bytes buffered; \(where_)")
        return nil
    case .failure(let error):
        return .failure(error)
    }
}

/// ClientConnection.process: parses every complete request in `bytes`; returns bytes consumed.
func process(_ bytes: UnsafeRawBufferPointer, parser: inout RequestParser, feed: inout Feed,
             generator: inout Generator, resets: Bool) -> Int {
    var offset = 0
    while offset < bytes.count && !feed.failed {
        let view = UnsafeRawBufferPointer(rebasing: bytes[offset...])
        let outcome = parser.parse(view)
        let event = checkOutcome(outcome, parser: parser, view: view, absoluteStart: feed.consumed)
        switch outcome {
        case .complete(let length), .empty(let length):
            feed.events.append(event!)
            offset += length
            feed.consumed += length
            // AUTH replaces the parser after a request; nothing may depend on the old one.
            if resets && generator.below(4) == 0 {
                parser = RequestParser(maxRequestBytes: parser.maxRequestBytes)
            }
        case .needMore:
            return offset
        case .failure:
            feed.events.append(event!)
            feed.failed = true
            return bytes.count
        }
    }
    return offset
}

/// ClientConnection.received over reads of 1...maxRead bytes (maxRead == Int.max: one read).
func feedInReads(_ stream: UnsafeRawBufferPointer, maxRequestBytes: Int, maxRead: Int,
                 generator: inout Generator, resets: Bool) -> Feed {
    var parser = RequestParser(maxRequestBytes: maxRequestBytes)
    var feed = Feed()
    var input: [UInt8] = []
    var position = 0
    while position < stream.count && !feed.failed {
        let size = maxRead == Int.max ? stream.count - position : min(stream.count - position, 1 + generator.below(maxRead))
        let read = UnsafeRawBufferPointer(rebasing: stream[position..<(position + size)])
        position += size
        withExactCopy(read) { read in
            if input.isEmpty {
                let used = process(read, parser: &parser, feed: &feed, generator: &generator, resets: resets)
                check(used <= read.count, "consumed \(used) of a \(read.count)-byte read")
                if used < read.count && !feed.failed { input.append(contentsOf: read[used...]) }
            } else {
                input.append(contentsOf: read)
                let used = input.withUnsafeBytes { all in
                    withExactCopy(all) { process($0, parser: &parser, feed: &feed, generator: &generator, resets: resets) }
                }
                check(used <= input.count, "consumed \(used) of \(input.count) buffered bytes")
                if feed.failed { input.removeAll() } else { input.removeFirst(used) }
            }
        }
        check(feed.failed || feed.consumed + input.count == position,
              "consumed \(feed.consumed) + kept \(input.count) != \(position) bytes read")
    }
    feed.pending = input.count
    return feed
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRequestParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 2 else { return 0 }
    let maxRequestBytes = maxRequestChoices[Int(data[0] & 7)]
    let maxRead = maxReadChoices[Int(data[0] >> 3) & 7]
    let resets = data[0] & 0x40 != 0
    let stream = UnsafeRawBufferPointer(start: data + 2, count: size - 2)

    var generator = Generator(seed: data[1], salt: data[0])
    let inReads = feedInReads(stream, maxRequestBytes: maxRequestBytes, maxRead: maxRead,
                              generator: &generator, resets: resets)
    var unused = Generator(seed: 0, salt: 0)
    let atOnce = feedInReads(stream, maxRequestBytes: maxRequestBytes, maxRead: Int.max,
                             generator: &unused, resets: false)

    if !sameEvents(inReads.events, atOnce.events) {
        let common = min(inReads.events.count, atOnce.events.count)
        let firstDifference = (0..<common).first { !sameEvents([inReads.events[$0]], [atOnce.events[$0]]) } ?? common
        func show(_ events: [Event]) -> String {
            firstDifference < events.count ? events[firstDifference].description : "(none: \(events.count) events)"
        }
        fatalError("""
            RequestParser: reads of at most \(maxRead) bytes and one read disagree at event \(firstDifference) \
            (max \(maxRequestBytes)): in reads \(show(inReads.events)), at once \(show(atOnce.events))
            """)
    }
    check(inReads.consumed == atOnce.consumed, "consumed \(inReads.consumed) in reads, \(atOnce.consumed) at once")
    check(inReads.failed || inReads.pending == atOnce.pending,
          "kept \(inReads.pending) bytes in reads, \(atOnce.pending) at once")
    return 0
}
