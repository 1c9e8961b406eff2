import Glibc
import XCTest
@testable import KezekCore

/// One parsed request: its tokens (as kept), the count of all tokens, its length in bytes.
private struct Parsed: Equatable {
    var tokens: [String]
    var tokenCount: Int
    var length: Int
    var skipped: Bool
}

private enum Run: Equatable {
    /// Every request parsed from the buffer, empty ones (skip) left out.
    case requests([[String]])
    /// The requests parsed before the error, then the error.
    case failed([[String]], ProtocolError)
    /// The buffer ended inside a request.
    case incomplete([[String]])
}

private func tokens(of parser: RequestParser, in bytes: UnsafeRawBufferPointer) -> [String] {
    (0..<min(parser.tokenCount, RequestParser.maxKeptTokens)).map { index in
        let start = parser.tokenStarts[index]
        let length = parser.tokenLengths[index]
        return String(
            decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<(start + length)]),
            as: UTF8.self)
    }
}

/// Runs the parser over `input` the way a connection does: hand it the bytes from the current
/// request's first byte on, drop `length` bytes after each request.
private func parseAll(_ input: [UInt8], maxRequestBytes: Int = 4096) -> Run {
    var parser = RequestParser(maxRequestBytes: maxRequestBytes)
    var found: [[String]] = []
    var offset = 0
    return input.withUnsafeBytes { all in
        while offset < all.count {
            let view = UnsafeRawBufferPointer(rebasing: all[offset...])
            switch parser.parse(view) {
            case .complete(let length):
                found.append(tokens(of: parser, in: view))
                offset += length
            case .empty(let length):
                offset += length
            case .needMore:
                return .incomplete(found)
            case .failure(let error):
                return .failed(found, error)
            }
        }
        return .requests(found)
    }
}

private func parseAll(_ text: String, maxRequestBytes: Int = 4096) -> Run {
    parseAll(Array(text.utf8), maxRequestBytes: maxRequestBytes)
}

/// Parses one request from the start of `bytes` in one call.
private func parseOnce(_ bytes: [UInt8], maxRequestBytes: Int = 4096) -> (
    RequestParser.Progress, Parsed?
) {
    var parser = RequestParser(maxRequestBytes: maxRequestBytes)
    return bytes.withUnsafeBytes { view in
        let outcome = parser.parse(view)
        switch outcome {
        case .complete(let length):
            return (
                outcome,
                Parsed(
                    tokens: tokens(of: parser, in: view), tokenCount: parser.tokenCount,
                    length: length, skipped: false)
            )
        case .empty(let length):
            return (outcome, Parsed(tokens: [], tokenCount: 0, length: length, skipped: true))
        default:
            return (outcome, nil)
        }
    }
}

/// RESP array of bulk strings, as a Redis client sends it.
private func resp(_ arguments: [String]) -> String {
    var text = "*\(arguments.count)\r\n"
    for argument in arguments { text += "$\(argument.utf8.count)\r\n\(argument)\r\n" }
    return text
}

final class RequestParserTests: XCTestCase {
    // MARK: Inline

    func testInlineWithNewline() {
        XCTAssertEqual(parseAll("BOOK p1 h1\n"), .requests([["BOOK", "p1", "h1"]]))
    }

    func testInlineWithCRLFDropsCR() {
        XCTAssertEqual(parseAll("BOOK p1 h1\r\n"), .requests([["BOOK", "p1", "h1"]]))
    }

    func testInlineTabsAndRepeatedSpaces() {
        XCTAssertEqual(
            parseAll("  BOOK\t\tp1   \t h1 WAIT  \r\n"), .requests([["BOOK", "p1", "h1", "WAIT"]]))
    }

    func testInlineLengthIncludesTerminator() {
        let (outcome, _) = parseOnce(Array("PING\r\nPING\n".utf8))
        XCTAssertEqual(outcome, .complete(length: 6))
    }

    func testEmptyLineSkips() {
        XCTAssertEqual(parseOnce(Array("\n".utf8)).0, .empty(length: 1))
        XCTAssertEqual(parseOnce(Array("\r\n".utf8)).0, .empty(length: 2))
    }

    func testWhitespaceOnlyLineSkips() {
        XCTAssertEqual(parseOnce(Array(" \t  \r\n".utf8)).0, .empty(length: 6))
    }

    func testInlineWithoutNewlineNeedsMore() {
        XCTAssertEqual(parseOnce(Array("BOOK p1 h1".utf8)).0, .needMore)
        XCTAssertEqual(parseOnce(Array("BOOK p1 h1\r".utf8)).0, .needMore)
    }

    func testEmptyInputNeedsMore() {
        XCTAssertEqual(parseOnce([]).0, .needMore)
    }

    // MARK: RESP

    func testRespArray() {
        let text = resp(["BOOK", "p1", "h1", "WAIT"])
        let (outcome, parsed) = parseOnce(Array(text.utf8))
        XCTAssertEqual(outcome, .complete(length: text.utf8.count))
        XCTAssertEqual(parsed?.tokens, ["BOOK", "p1", "h1", "WAIT"])
    }

    func testRespBulkMayHoldSpacesAndEmptyStrings() {
        XCTAssertEqual(
            parseAll("*3\r\n$4\r\nPING\r\n$3\r\na b\r\n$0\r\n\r\n"),
            .requests([["PING", "a b", ""]]))
    }

    func testRespEmptyArraySkips() {
        XCTAssertEqual(parseOnce(Array("*0\r\n".utf8)).0, .empty(length: 4))
    }

    func testRespNullArraySkips() {
        // Redis ignores a multibulk count <= 0.
        XCTAssertEqual(parseOnce(Array("*-1\r\nPING\r\n".utf8)).0, .empty(length: 5))
    }

    // MARK: Pipelining

    func testPipelinedMixedRequests() {
        let text =
            "BOOK p1 h1\r\n" + resp(["CANCEL", "p1", "h1"]) + "\n" + "  \r\n" + "*0\r\n"
            + "STATUS\tp1 h2\n" + resp(["SEATS", "p1"]) + resp(["PING"]) + "QUIT\r\n"
        XCTAssertEqual(
            parseAll(text),
            .requests([
                ["BOOK", "p1", "h1"], ["CANCEL", "p1", "h1"], ["STATUS", "p1", "h2"],
                ["SEATS", "p1"], ["PING"], ["QUIT"],
            ]))
    }

    func testPipelineEndingMidRequestNeedsMore() {
        XCTAssertEqual(parseAll("PING\n*2\r\n$4\r\nSEATS"), .incomplete([["PING"]]))
    }

    /// Every request, fed one byte more at a time through the same parser (the view always starts
    /// at the request's first byte), must give exactly what one call with all bytes gives.
    func testEverySplitPointMatchesUnsplitParse() {
        let requests: [String] = [
            "BOOK p1 h1\n",
            "BOOK p1 h1\r\n",
            " \tCANCEL  p1\th1 \r\n",
            "\n",
            "\r\n",
            "   \r\n",
            "*0\r\n",
            resp(["BOOK", "p1", "h1", "WAIT"]),
            resp(["PING"]),
            resp(["PING", ""]),
            resp(["PROVIDER", String(repeating: "p", count: 64), "12345678901"]),
            resp(Array(repeating: "x", count: 12)),
            "A B C D E F G H I J K\n",
            // Malformed: the error must come out at the same point however the bytes arrive.
            "*x\r\n",
            "*1\r\n$x\r\n",
            "*1\r\n$-5\r\n",
            "*1\r\n:5\r\n",
            "*1\r\n$3\r\nabcXY",
            "*1\r\n$9999\r\n",
        ]
        for request in requests {
            let bytes = Array(request.utf8)
            let (expected, expectedParsed) = parseOnce(bytes)
            XCTAssertNotEqual(expected, .needMore, "whole request \(request.debugDescription)")
            var parser = RequestParser(maxRequestBytes: 4096)
            bytes.withUnsafeBytes { all in
                for size in 1...all.count {
                    let view = UnsafeRawBufferPointer(rebasing: all[0..<size])
                    let outcome = parser.parse(view)
                    if size < all.count, outcome == .needMore { continue }
                    // An error may show before the last byte; a request may not.
                    if case .failure = outcome {
                    } else {
                        XCTAssertEqual(
                            size, all.count,
                            "\(request.debugDescription): finished early at \(size) with \(outcome)"
                        )
                    }
                    XCTAssertEqual(outcome, expected, "\(request.debugDescription) fed by bytes")
                    if case .complete = outcome {
                        XCTAssertEqual(
                            tokens(of: parser, in: view), expectedParsed?.tokens,
                            request.debugDescription)
                        XCTAssertEqual(
                            parser.tokenCount, expectedParsed?.tokenCount, request.debugDescription)
                    }
                    break
                }
            }
        }
    }

    /// Found by the fuzzer: near the request limit, a bad bulk header used to be "request too
    /// large" when it arrived byte by byte and "invalid bulk length" when it arrived whole. A
    /// header that does not end within the limit is now too large either way.
    func testErrorKindDoesNotDependOnHowBytesArrive() {
        let bytes = Array(
            ("*2\r\n$50\r\n" + String(repeating: "x", count: 50) + "\r\n$abc\r\n").utf8)
        let (whole, _) = parseOnce(bytes, maxRequestBytes: 64)
        XCTAssertEqual(whole, .failure(.requestTooLarge))
        var parser = RequestParser(maxRequestBytes: 64)
        var outcome = RequestParser.Progress.needMore
        bytes.withUnsafeBytes { all in
            for size in 1...all.count {
                outcome = parser.parse(UnsafeRawBufferPointer(rebasing: all[0..<size]))
                if outcome != .needMore { break }
            }
        }
        XCTAssertEqual(outcome, .failure(.requestTooLarge))
    }

    /// The same over a pipelined stream: each request's view grows one byte at a time.
    func testPipelineFedByteByByte() {
        let text =
            "BOOK p1 h1\r\n" + resp(["CANCEL", "p1", "h1"]) + "\n*0\r\n" + resp(["SEATS", "p9"])
            + "PING\n"
        let bytes = Array(text.utf8)
        var parser = RequestParser(maxRequestBytes: 4096)
        var found: [[String]] = []
        var start = 0
        var end = start + 1
        bytes.withUnsafeBytes { all in
            while start < all.count && end <= all.count {
                let view = UnsafeRawBufferPointer(rebasing: all[start..<end])
                switch parser.parse(view) {
                case .needMore:
                    end += 1
                case .complete(let length):
                    found.append(tokens(of: parser, in: view))
                    start += length
                    end = start + 1
                case .empty(let length):
                    start += length
                    end = start + 1
                case .failure(let error):
                    XCTFail("unexpected \(error)")
                    return
                }
            }
        }
        XCTAssertEqual(start, bytes.count)
        XCTAssertEqual(
            found, [["BOOK", "p1", "h1"], ["CANCEL", "p1", "h1"], ["SEATS", "p9"], ["PING"]])
    }

    // MARK: Malformed

    func testInvalidMultibulkLength() {
        XCTAssertEqual(parseAll("*x\r\n"), .failed([], .invalidMultibulkLength))
        XCTAssertEqual(parseAll("*\r\n"), .failed([], .invalidMultibulkLength))
        XCTAssertEqual(parseAll("*1x\r\n"), .failed([], .invalidMultibulkLength))
    }

    func testInvalidBulkLength() {
        XCTAssertEqual(parseAll("*1\r\n$x\r\n"), .failed([], .invalidBulkLength))
        XCTAssertEqual(parseAll("*1\r\n$-5\r\n"), .failed([], .invalidBulkLength))
        XCTAssertEqual(parseAll("*1\r\n$\r\n"), .failed([], .invalidBulkLength))
    }

    func testExpectedBulk() {
        XCTAssertEqual(parseAll("*1\r\n:5\r\n"), .failed([], .expectedBulk(got: UInt8(ascii: ":"))))
        XCTAssertEqual(
            parseAll("*2\r\n$4\r\nPING\r\nPONG\r\n"),
            .failed([], .expectedBulk(got: UInt8(ascii: "P"))))
    }

    func testMissingCRLFAfterBulk() {
        XCTAssertEqual(parseAll("*1\r\n$3\r\nabcde"), .failed([], .missingCRLF))
        XCTAssertEqual(parseAll("*1\r\n$3\r\nabc\n\r"), .failed([], .missingCRLF))
    }

    func testErrorAfterGoodRequestsInPipeline() {
        XCTAssertEqual(
            parseAll("PING\n" + resp(["PING"]) + "*1\r\n:5\r\n"),
            .failed([["PING"], ["PING"]], .expectedBulk(got: UInt8(ascii: ":"))))
    }

    func testErrorMessages() {
        XCTAssertEqual(
            ProtocolError.expectedBulk(got: UInt8(ascii: ":")).message,
            "ERR Protocol error: expected '$', got ':'")
        XCTAssertEqual(
            ProtocolError.expectedBulk(got: 10).message,
            "ERR Protocol error: expected '$', got '\\xa'")
        XCTAssertEqual(ProtocolError.lineTooLong.message, "ERR line too long")
    }

    // MARK: Limits

    func testInlineAtLimitIsAccepted() {
        let line = String(repeating: "a", count: 64)
        XCTAssertEqual(parseAll(line + "\r\n", maxRequestBytes: 64), .requests([[line]]))
        XCTAssertEqual(parseAll(line + "\n", maxRequestBytes: 64), .requests([[line]]))
    }

    func testInlineOverLimitWithNewline() {
        let line = String(repeating: "a", count: 65)
        XCTAssertEqual(parseAll(line + "\n", maxRequestBytes: 64), .failed([], .lineTooLong))
        XCTAssertEqual(parseAll(line + "\r\n", maxRequestBytes: 64), .failed([], .lineTooLong))
    }

    func testInlineOverLimitWithoutNewline() {
        XCTAssertEqual(
            parseAll(String(repeating: "a", count: 100), maxRequestBytes: 64),
            .failed([], .lineTooLong))
        XCTAssertEqual(parseAll(String(repeating: "a", count: 5000)), .failed([], .lineTooLong))
    }

    func testInlineOverLimitGrowingView() {
        // Without a newline the parser must give up once the line passes the limit, not wait forever.
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 4200)
        var parser = RequestParser(maxRequestBytes: 4096)
        var outcome = RequestParser.Progress.needMore
        var size = 0
        bytes.withUnsafeBytes { all in
            while outcome == .needMore && size < all.count {
                size += 1
                outcome = parser.parse(UnsafeRawBufferPointer(rebasing: all[0..<size]))
            }
        }
        XCTAssertEqual(outcome, .failure(.lineTooLong))
        XCTAssertLessThanOrEqual(size, 4098)
    }

    func testRespDeclaredBulkTooLarge() {
        XCTAssertEqual(parseAll("*1\r\n$5000\r\n"), .failed([], .requestTooLarge))
        XCTAssertEqual(
            parseAll("*2\r\n$4\r\nBOOK\r\n$60\r\n", maxRequestBytes: 64),
            .failed([], .requestTooLarge))
    }

    func testRespWholeRequestMustFitLimit() {
        // Each bulk alone fits; together they pass the limit.
        let request = resp([String(repeating: "a", count: 30), String(repeating: "b", count: 30)])
        XCTAssertGreaterThan(request.utf8.count, 64)
        XCTAssertEqual(parseAll(request, maxRequestBytes: 64), .failed([], .requestTooLarge))
        XCTAssertEqual(
            parseAll(request, maxRequestBytes: request.utf8.count),
            .requests([[String(repeating: "a", count: 30), String(repeating: "b", count: 30)]]))
    }

    func testRespHugeElementCount() {
        XCTAssertEqual(parseAll("*1000000\r\n"), .failed([], .requestTooLarge))
    }

    /// A 19-digit count does not fit in Int: the parser must reject it, not overflow and trap.
    func testRespOverflowingNumbersDoNotCrash() {
        for request in [
            "*9999999999999999999\r\n", "*1\r\n$9999999999999999999\r\n",
            "*-9999999999999999999\r\n",
        ] {
            let status = exitStatusInChild {
                var parser = RequestParser(maxRequestBytes: 4096)
                let outcome = Array(request.utf8).withUnsafeBytes { parser.parse($0) }
                guard case .failure = outcome else { return 1 }
                return 0
            }
            XCTAssertEqual(
                status, 0,
                "\(request.debugDescription): 0 = failure outcome, 1 = other outcome, else crashed (signal \(status - 128))"
            )
        }
    }

    // MARK: Tokens

    func testTokenCountBeyondKeptTokens() {
        let words = (1...11).map { "t\($0)" }
        let (_, inline) = parseOnce(Array((words.joined(separator: " ") + "\n").utf8))
        XCTAssertEqual(inline?.tokenCount, 11)
        XCTAssertEqual(inline?.tokens, Array(words.prefix(RequestParser.maxKeptTokens)))
        let (_, array) = parseOnce(Array(resp(words).utf8))
        XCTAssertEqual(array?.tokenCount, 11)
        XCTAssertEqual(array?.tokens, Array(words.prefix(RequestParser.maxKeptTokens)))
    }

    func testTokensResetBetweenRequests() {
        var parser = RequestParser(maxRequestBytes: 4096)
        let first = Array("A B C\n".utf8)
        let second = Array("D\n".utf8)
        _ = first.withUnsafeBytes { parser.parse($0) }
        XCTAssertEqual(parser.tokenCount, 3)
        second.withUnsafeBytes { view in
            XCTAssertEqual(parser.parse(view), .complete(length: 2))
            XCTAssertEqual(tokens(of: parser, in: view), ["D"])
        }
        XCTAssertEqual(parser.tokenCount, 1)
    }
}

/// Runs `body` in a forked child and returns its exit status (128 + signal when it crashed).
private func exitStatusInChild(_ body: () -> Int32) -> Int32 {
    fflush(nil)
    let pid = fork()
    if pid == 0 {
        // Die of the signal quietly instead of running the backtracer.
        for number in [SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGABRT] { signal(number, SIG_DFL) }
        _exit(body())
    }
    var status: Int32 = 0
    waitpid(pid, &status, 0)
    let signal = status & 0x7f
    return signal == 0 ? (status >> 8) & 0xff : 128 + signal
}
