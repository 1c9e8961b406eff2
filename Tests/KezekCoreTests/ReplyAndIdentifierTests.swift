import XCTest
@testable import KezekCore

final class ReplyAndIdentifierTests: XCTestCase {
    private func line(_ reply: Reply) -> String {
        var out: [UInt8] = []
        reply.encode(into: &out)
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: Reply

    func testBooked() {
        XCTAssertEqual(line(.booked(free: 41)), "+BOOKED 41\r\n")
        XCTAssertEqual(line(.booked(free: 0)), "+BOOKED 0\r\n")
        XCTAssertEqual(line(.booked(free: 1_234_567_890)), "+BOOKED 1234567890\r\n")
        XCTAssertEqual(line(.bookedStatus), "+BOOKED\r\n")
    }

    func testWaitingFullLimit() {
        XCTAssertEqual(line(.waiting(position: 1)), "+WAITING 1\r\n")
        XCTAssertEqual(line(.waiting(position: 10)), "+WAITING 10\r\n")
        XCTAssertEqual(line(.full(provider: "alatau.chess-01")), "+FULL alatau.chess-01\r\n")
        XCTAssertEqual(line(.limit(holder: "iin:900101")), "+LIMIT iin:900101\r\n")
    }

    func testCancelNotFoundNone() {
        XCTAssertEqual(line(.cancelled(free: 3)), "+CANCELLED 3\r\n")
        XCTAssertEqual(line(.cancelled(free: 0)), "+CANCELLED 0\r\n")
        XCTAssertEqual(line(.notFound(holder: "h1")), "+NOTFOUND h1\r\n")
        XCTAssertEqual(line(.none), "+NONE\r\n")
    }

    func testSeats() {
        let snapshot = SeatsSnapshot(capacity: 48, booked: 45, waiting: 7, refused: 120)
        XCTAssertEqual(snapshot.free, 3)
        XCTAssertEqual(
            line(.seats(snapshot)), "+SEATS capacity=48 booked=45 free=3 waiting=7 refused=120\r\n")
        XCTAssertEqual(
            line(.seats(SeatsSnapshot(capacity: 0, booked: 0, waiting: 0, refused: 0))),
            "+SEATS capacity=0 booked=0 free=0 waiting=0 refused=0\r\n")
    }

    func testOkSimpleByeError() {
        XCTAssertEqual(line(.ok), "+OK\r\n")
        XCTAssertEqual(line(.simple("PONG")), "+PONG\r\n")
        XCTAssertEqual(line(.bye), "+BYE\r\n")
        XCTAssertEqual(line(.error("NOPROVIDER p9")), "-NOPROVIDER p9\r\n")
        XCTAssertEqual(line(.unavailable), "-UNAVAILABLE mirror down, retry\r\n")
        XCTAssertTrue(line(.loading).hasPrefix("-LOADING "))
    }

    func testIsError() {
        XCTAssertTrue(Reply.error("ERR x").isError)
        XCTAssertFalse(Reply.full(provider: "p").isError)
        XCTAssertFalse(Reply.ok.isError)
    }

    func testEncodeAppends() {
        var out: [UInt8] = Array("+OK\r\n".utf8)
        Reply.waiting(position: 2).encode(into: &out)
        XCTAssertEqual(String(decoding: out, as: UTF8.self), "+OK\r\n+WAITING 2\r\n")
    }

    func testAppendDecimal() {
        for value in [0, 7, 9, 10, 99, 100, 65_739, -1, -42, Int.max] {
            var out: [UInt8] = []
            Reply.appendDecimal(value, into: &out)
            XCTAssertEqual(String(decoding: out, as: UTF8.self), String(value))
        }
    }

    // MARK: Identifier

    func testIdentifierAcceptsEveryAllowedCharacter() {
        let allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-"
        for character in allowed {
            XCTAssertTrue(Identifier.isValid(String(character)), "\(character)")
        }
        XCTAssertTrue(Identifier.isValid("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
        XCTAssertTrue(Identifier.isValid("0123456789_.:@-"))
    }

    func testIdentifierRejectsEveryOtherByte() {
        let allowed = Set(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.:@-".utf8)
        for byte in UInt8.min...UInt8.max where !allowed.contains(byte) {
            let bytes: [UInt8] = [UInt8(ascii: "a"), byte, UInt8(ascii: "b")]
            XCTAssertFalse(bytes.withUnsafeBytes { Identifier.isValid($0) }, "byte \(byte)")
        }
    }

    func testIdentifierLength() {
        XCTAssertFalse(Identifier.isValid(""))
        XCTAssertTrue(Identifier.isValid("a"))
        XCTAssertTrue(Identifier.isValid(String(repeating: "a", count: 64)))
        XCTAssertFalse(Identifier.isValid(String(repeating: "a", count: 65)))
        XCTAssertEqual(Identifier.maxLength, 64)
    }

    func testIdentifierRejectsSpaceSlashNonASCII() {
        XCTAssertFalse(Identifier.isValid("a b"))
        XCTAssertFalse(Identifier.isValid("a/b"))
        XCTAssertFalse(Identifier.isValid("a\tb"))
        XCTAssertFalse(Identifier.isValid("almaty-é"))
        XCTAssertFalse(Identifier.isValid("Алматы"))
        XCTAssertFalse(Identifier.isValid("a,b"))
        XCTAssertFalse(Identifier.isValid("{p}"))
    }

    func testIdentifierLengthCountsBytes() {
        // 32 two-byte characters are 64 bytes but invalid anyway; 63 ASCII + one 2-byte one is 65 bytes.
        XCTAssertFalse(Identifier.isValid(String(repeating: "a", count: 63) + "é"))
    }

    // MARK: Verb

    private func verb(_ text: String) -> Verb? {
        Array(text.utf8).withUnsafeBytes { Verb($0) }
    }

    func testVerbMatchesAnyCase() {
        for candidate in Verb.allCases {
            XCTAssertEqual(verb(candidate.name), candidate)
            XCTAssertEqual(verb(candidate.name.lowercased()), candidate)
            let mixed = String(
                candidate.name.enumerated().map {
                    $0.offset % 2 == 0 ? Character($0.element.lowercased()) : $0.element
                })
            XCTAssertEqual(verb(mixed), candidate, mixed)
        }
        XCTAssertEqual(verb("bOoK"), .book)
        XCTAssertEqual(verb("Provider"), .provider)
    }

    func testVerbRejectsNearMisses() {
        for text in [
            "", "B", "BOO", "BOOKS", "BOOK ", " BOOK", "B00K", "BOOJ", "CANCELL", "CANCE", "STATU",
            "SEAT", "PROVIDERS", "PIN", "PINGG", "HEALT", "AUT", "QUI", "QUITE", "XBOOK",
        ] {
            XCTAssertNil(verb(text), text)
        }
    }

    func testVerbRejectsBytesThatMatchOnlyAfterOr0x20() {
        // '@' | 0x20 == '`', '[' | 0x20 == '{', 0x0B | 0x20 == '+' ...: none of them is a letter,
        // but a byte whose OR with 0x20 gives a lowercase letter must itself be that letter in
        // some case. "\u{02}" | 0x20 == "\"" etc. The ASCII letters' only aliases are the
        // uppercase letters, so check the digits and punctuation that alias to letters do not exist.
        for byte in UInt8(0)...UInt8(127) {
            let lowered = byte | 0x20
            if lowered >= UInt8(ascii: "a") && lowered <= UInt8(ascii: "z") {
                XCTAssertTrue(
                    (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z")) || byte == lowered,
                    "byte \(byte)")
            }
        }
        // Bytes above 127 never match.
        XCTAssertNil(
            [UInt8(ascii: "P"), UInt8(ascii: "I"), UInt8(ascii: "N"), 0xC7].withUnsafeBytes {
                Verb($0)
            })
    }

    func testVerbProperties() {
        XCTAssertTrue(Verb.book.needsState)
        XCTAssertFalse(Verb.ping.needsState)
        // HELLO too: clients send `HELLO 3 AUTH user token` as their first command.
        XCTAssertEqual(
            Verb.allCases.filter(\.allowedBeforeAuth), [.ping, .health, .auth, .quit, .hello])
        XCTAssertEqual(
            Verb.allCases.filter(\.needsState),
            [
                .book, .cancel, .status, .seats, .provider, .round, .apply, .withdraw, .result,
                .confirm, .demand,
            ])
    }
}
