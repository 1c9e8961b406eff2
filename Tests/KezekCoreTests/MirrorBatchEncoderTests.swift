import XCTest
@testable import KezekCore

final class MirrorBatchEncoderTests: XCTestCase {
    private let outbox = MirrorOutbox()
    private lazy var p = Provider(id: "P", owner: 0, outbox: outbox, capacity: 10)
    private lazy var q = Provider(id: "Q", owner: 0, outbox: outbox, capacity: 10)

    private func write(_ provider: Provider, _ op: MirrorOp) -> MirrorWrite {
        MirrorWrite(provider: provider, op: op, ticket: nil, madeAt: 0)
    }

    /// Encodes the writes and decodes the RESP back into one [String] per command, checking
    /// that `commandEnds` marks the end of each.
    private func commands(
        _ writes: [MirrorWrite], prefix: String = "kz", file: StaticString = #filePath,
        line: UInt = #line
    ) -> [[String]] {
        var encoder = MirrorBatchEncoder(keys: KeyLayout(prefix: prefix))
        encoder.encode(writes[...], epoch: 2)
        var decoded: [[String]] = []
        var ends: [Int] = []
        var index = 0
        let bytes = encoder.bytes
        func readLine(expecting marker: UInt8) -> Int? {
            guard index < bytes.count, bytes[index] == marker else { return nil }
            var end = index + 1
            while end + 1 < bytes.count, !(bytes[end] == 13 && bytes[end + 1] == 10) { end += 1 }
            guard end + 1 < bytes.count,
                let value = Int(String(decoding: bytes[(index + 1)..<end], as: UTF8.self))
            else { return nil }
            index = end + 2
            return value
        }
        while index < bytes.count {
            guard let count = readLine(expecting: UInt8(ascii: "*")) else {
                XCTFail("bad array header at \(index)", file: file, line: line)
                return decoded
            }
            var command: [String] = []
            for _ in 0..<count {
                guard let length = readLine(expecting: UInt8(ascii: "$")),
                    index + length + 2 <= bytes.count,
                    bytes[index + length] == 13, bytes[index + length + 1] == 10
                else {
                    XCTFail("bad bulk at \(index)", file: file, line: line)
                    return decoded
                }
                command.append(String(decoding: bytes[index..<(index + length)], as: UTF8.self))
                index += length + 2
            }
            decoded.append(command)
            ends.append(index)
        }
        XCTAssertEqual(encoder.commandEnds, ends, "commandEnds", file: file, line: line)
        return decoded
    }

    /// The fenced form: one EVALSHA whose arguments carry the epoch, the sequence and the
    /// groups (code, key, count, items); barriers add nothing.
    func testFencedBatchIsOneScriptCallWithEveryGroup() {
        var encoder = MirrorBatchEncoder(keys: KeyLayout(prefix: "kz"))
        let writes = [
            write(p, .book(holder: "h1")), write(p, .book(holder: "h2")), write(p, .barrier),
            write(q, .enqueue(holder: "w", score: 7)), write(q, .capacity(3)),
        ]
        encoder.encodeFenced(
            writes[...], script: "abc", thread: 1, epoch: 4, sequence: 9, nextSequence: 10)
        XCTAssertEqual(encoder.commandEnds, [encoder.bytes.count])
        let text = String(decoding: encoder.bytes, as: UTF8.self)
        let parts = text.components(separatedBy: "\r\n").filter {
            !$0.hasPrefix("$") && !$0.isEmpty
        }
        XCTAssertEqual(
            parts,
            [
                "*27", "EVALSHA", "abc", "3", "kz:{lease}:epoch", "kz:{lease}:seq:1",
                "kz:{lease}:steps", "4", "9", "10",
                "S", "kz:{P}:booked", "2", "h1", "h2",
                "Z", "kz:{Q}:waiting", "2", "7", "w",
                "T", "kz:{Q}:capacity", "1", "3",
                "S", "kz:providers", "1", "Q",
            ])
        // A long run's field is named by the batch's epoch and its sequence after it.
        let long = (0..<BookedBatches.fieldFrom).map { write(q, .book(holder: "l\($0)")) }
        encoder.encodeFenced(
            long[...], script: "abc", thread: 1, epoch: 4, sequence: 9, nextSequence: 10)
        XCTAssertTrue(
            String(decoding: encoder.bytes, as: UTF8.self).contains(
                "$1\r\nH\r\n$21\r\nkz:{Q}:booked-batches\r\n$1\r\n2\r\n$6\r\n4.10.0\r\n"))
    }

    /// In a fenced batch on a lone Redis, a long run of bookings whose changes are in the
    /// batch's log entry is a `B` group: the field and the run's place in that entry (entry 0,
    /// after the one change logged before it), not the holders again. A booking the entry
    /// does not list (a retry's resent booking) goes to the set. Changes out of the run's
    /// order, or a cluster shard, leave the run a field of holders.
    func testALongRunInTheLogNamesItsPlaceThere() {
        let holders = (0..<BookedBatches.fieldFrom).map { "h\($0)" }
        func run(_ holders: [String]) -> [MirrorWrite] {
            holders.flatMap {
                [write(q, .book(holder: $0)), write(q, .audit(.book, holder: $0, cause: nil))]
            }
        }
        let before = [
            write(p, .book(holder: "a")), write(p, .audit(.book, holder: "a", cause: nil)),
        ]
        func fencedArguments(_ writes: [MirrorWrite], keys: KeyLayout = KeyLayout(prefix: "kz"))
            -> [String]
        {
            var encoder = MirrorBatchEncoder(keys: keys)
            encoder.encodeFenced(
                numbered(writes)[...], script: "abc", thread: 0, epoch: 4, sequence: 9,
                nextSequence: 10)
            return Array(
                String(decoding: encoder.bytes, as: UTF8.self).components(separatedBy: "\r\n")
                    .filter { !$0.hasPrefix("$") && !$0.isEmpty }.dropFirst(10))
        }
        let lone = fencedArguments(before + run(holders))
        XCTAssertEqual(
            Array(lone.prefix(10)),
            [
                "S", "kz:{P}:booked", "1", "a",
                "B", "kz:{Q}:booked-batches", "2", "4.10.1", "0 1 \(holders.count)", "A",
            ])
        XCTAssertEqual(lone.suffix(2), ["book", "Q h\(holders.count - 1)"])

        // A retried BOOK resends its booking without a change: listed in the set instead.
        let resent =
            run(Array(holders.prefix(3))) + [write(q, .book(holder: "again"))]
            + run(Array(holders.dropFirst(3)))
        XCTAssertEqual(
            Array(fencedArguments(before + resent).prefix(14)),
            [
                "S", "kz:{P}:booked", "1", "a",
                "B", "kz:{Q}:booked-batches", "2", "4.10.1", "0 1 \(holders.count)",
                "S", "kz:{Q}:booked", "1", "again", "A",
            ])

        let shard = fencedArguments(
            before + run(holders), keys: KeyLayout(prefix: "kz", shardTag: "s0"))
        XCTAssertTrue(shard.contains(holders.joined(separator: " ")), "\(shard)")
        XCTAssertFalse(shard.contains("B"))

        // Two bookings' changes in the other order.
        var swapped = run(holders)
        swapped.swapAt(1, 3)
        let reordered = fencedArguments(before + swapped)
        XCTAssertTrue(reordered.contains(holders.joined(separator: " ")), "\(reordered)")
        XCTAssertFalse(reordered.contains("B"))
    }

    func testBarriersEncodeNothing() {
        XCTAssertEqual(
            commands([write(p, .barrier), write(p, .book(holder: "h")), write(p, .barrier)]),
            [["SADD", "kz:{P}:booked", "h"]])
    }

    func testKeyLayout() {
        let keys = KeyLayout(prefix: "kezek")
        XCTAssertEqual(keys.providers, "kezek:providers")
        XCTAssertEqual(keys.capacity("a.b"), "kezek:{a.b}:capacity")
        XCTAssertEqual(keys.booked("a.b"), "kezek:{a.b}:booked")
        XCTAssertEqual(keys.bookedBatches("a.b"), "kezek:{a.b}:booked-batches")
        XCTAssertEqual(keys.waiting("a.b"), "kezek:{a.b}:waiting")
    }

    func testEmptyBatch() {
        XCTAssertEqual(commands([]), [])
    }

    func testExactBytesOfOneBook() {
        var encoder = MirrorBatchEncoder(keys: KeyLayout(prefix: "kz"))
        encoder.encode([write(p, .book(holder: "h1"))][...], epoch: 2)
        XCTAssertEqual(
            String(decoding: encoder.bytes, as: UTF8.self),
            "*3\r\n$4\r\nSADD\r\n$13\r\nkz:{P}:booked\r\n$2\r\nh1\r\n")
        XCTAssertEqual(encoder.commandEnds, [encoder.bytes.count])
    }

    func testConsecutiveBooksCoalesce() {
        let writes = ["h1", "h2", "h3"].map { write(p, .book(holder: $0)) }
        XCTAssertEqual(commands(writes), [["SADD", "kz:{P}:booked", "h1", "h2", "h3"]])
    }

    func testUnbookAndDequeueCoalesce() {
        let writes = [
            write(p, .unbook(holder: "a")), write(p, .unbook(holder: "b")),
            write(p, .dequeue(holder: "c")), write(p, .dequeue(holder: "d")),
        ]
        XCTAssertEqual(
            commands(writes),
            [["SREM", "kz:{P}:booked", "a", "b"], ["ZREM", "kz:{P}:waiting", "c", "d"]])
    }

    func testRunBrokenByOtherKind() {
        let writes = [
            write(p, .book(holder: "h1")), write(p, .unbook(holder: "h2")),
            write(p, .book(holder: "h3")),
        ]
        XCTAssertEqual(
            commands(writes),
            [
                ["SADD", "kz:{P}:booked", "h1"],
                ["SREM", "kz:{P}:booked", "h2"],
                ["SADD", "kz:{P}:booked", "h3"],
            ])
    }

    func testRunBrokenByOtherProvider() {
        let writes = [
            write(p, .book(holder: "h1")), write(p, .book(holder: "h2")),
            write(q, .book(holder: "h3")), write(p, .book(holder: "h4")),
        ]
        XCTAssertEqual(
            commands(writes),
            [
                ["SADD", "kz:{P}:booked", "h1", "h2"],
                ["SADD", "kz:{Q}:booked", "h3"],
                ["SADD", "kz:{P}:booked", "h4"],
            ])
    }

    func testPromotionKeepsOrder() {
        let writes = [
            write(p, .unbook(holder: "a")), write(p, .book(holder: "w")),
            write(p, .dequeue(holder: "w")),
        ]
        XCTAssertEqual(
            commands(writes),
            [
                ["SREM", "kz:{P}:booked", "a"],
                ["SADD", "kz:{P}:booked", "w"],
                ["ZREM", "kz:{P}:waiting", "w"],
            ])
    }

    func testCapacityWrite() {
        let writes = [
            write(p, .capacity(42)), write(p, .capacity(43)), write(p, .book(holder: "h")),
        ]
        XCTAssertEqual(
            commands(writes, prefix: "kezek"),
            [
                ["SET", "kezek:{P}:capacity", "42"],
                ["SADD", "kezek:providers", "P"],
                ["SET", "kezek:{P}:capacity", "43"],
                ["SADD", "kezek:providers", "P"],
                ["SADD", "kezek:{P}:booked", "h"],
            ])
    }

    func testRefusedWriteSetsTheAbsoluteCount() {
        XCTAssertEqual(
            commands([
                write(p, .book(holder: "a")), write(p, .refused(7)), write(p, .book(holder: "b")),
            ]),
            [
                ["SADD", "kz:{P}:booked", "a"],
                ["SET", "kz:{P}:refused", "7"],
                ["SADD", "kz:{P}:booked", "b"],
            ])
    }

    func testRefusedWriteOnlyWhenTheCountChanged() {
        XCTAssertNil(p.refusedWriteIfChanged())
        p.refusals.set(p.refusedCount + 2)
        XCTAssertEqual(p.refusedWriteIfChanged()?.op, .refused(2))
        XCTAssertNil(p.refusedWriteIfChanged())
    }

    func testEnqueue() {
        let writes = [
            write(p, .enqueue(holder: "w1", score: 7)), write(p, .enqueue(holder: "w2", score: 12)),
            write(q, .enqueue(holder: "w3", score: 0)),
        ]
        XCTAssertEqual(
            commands(writes),
            [
                ["ZADD", "kz:{P}:waiting", "7", "w1", "12", "w2"],
                ["ZADD", "kz:{Q}:waiting", "0", "w3"],
            ])
    }

    /// A draw's places and a mask go to the provider's tags hash, each with the highest score
    /// so far, in one HSET with the tags beside them.
    func testPlacesAndMask() {
        let writes = [
            write(p, .places(first: 7, last: 9, holders: "w1 w2 w3")),
            write(p, .tagPart(round: "r", entries: "w1 1")),
            write(p, .mask(holder: "w2", score: 9)),
        ]
        XCTAssertEqual(
            commands(writes),
            [
                [
                    "HSET", "kz:{P}:rounds", "~7", "w1 w2 w3", "~", "9", "#r", "w1 1", "!w2", "9",
                    "~", "9",
                ]
            ])
    }

    /// A run of `BookedBatches.fieldFrom` bookings or more is one field of the batches' hash,
    /// named by the batch's id (epoch, sequence, the command's place); a shorter one is SADD.
    func testALongRunOfBookingsIsOneField() {
        let long = (0..<BookedBatches.fieldFrom).map { "h\($0)" }
        let provider = Provider(id: "L", owner: 0, outbox: outbox, capacity: 100)
        XCTAssertFalse(provider.hasBookedBatches)
        let writes =
            [write(provider, .book(holder: "a")), write(provider, .refused(1))]
            + long.map { write(provider, .book(holder: $0)) }
        XCTAssertEqual(
            commands(writes),
            [
                ["SADD", "kz:{L}:booked", "a"], ["SET", "kz:{L}:refused", "1"],
                ["HSET", "kz:{L}:booked-batches", "2.0.2", long.joined(separator: " ")],
            ])
        XCTAssertTrue(provider.hasBookedBatches, "a cancellation here must now mask")
    }

    /// At a provider with fields a cancellation also masks the holder with its write's id, so
    /// no earlier field counts it again; elsewhere it is a SREM alone.
    func testACancellationMasksOnlyWhereFieldsMayNameTheHolder() {
        let provider = Provider(id: "M", owner: 0, outbox: outbox, capacity: 100)
        let cancel = [write(provider, .unbook(holder: "a")), write(provider, .unbook(holder: "b"))]
        XCTAssertEqual(commands(cancel), [["SREM", "kz:{M}:booked", "a", "b"]])
        provider.noteBookedBatches()
        XCTAssertEqual(
            commands(cancel + [write(provider, .dequeue(holder: "c"))]),
            [
                ["SREM", "kz:{M}:booked", "a", "b"],
                ["HSET", "kz:{M}:booked-batches", "!a", "2.0.1", "!b", "2.0.1"],
                ["ZREM", "kz:{M}:waiting", "c"],
            ])
    }

    func testLongRunSplits() {
        let limit = MirrorBatchEncoder.maxMembersPerCommand
        let holders = (0..<(2 * limit + 5)).map { "h\($0)" }
        let result = commands(holders.map { write(p, .book(holder: $0)) })
        XCTAssertEqual(
            result.map { Array($0.prefix(3)) },
            [
                ["HSET", "kz:{P}:booked-batches", "2.0.0"],
                ["HSET", "kz:{P}:booked-batches", "2.0.1"],
                ["SADD", "kz:{P}:booked", "h\(2 * limit)"],
            ])
        XCTAssertEqual(
            result.prefix(2).flatMap { $0[3].split(separator: " ").map(String.init) }
                + result[2].dropFirst(2), holders)
    }

    func testLongEnqueueRunSplits() {
        let limit = MirrorBatchEncoder.maxMembersPerCommand
        let writes = (0..<(limit + 1)).map { write(p, .enqueue(holder: "w\($0)", score: $0)) }
        let result = commands(writes)
        XCTAssertEqual(result.map(\.count), [2 + 2 * limit, 2 + 2])
        XCTAssertEqual(result[1], ["ZADD", "kz:{P}:waiting", "\(limit)", "w\(limit)"])
    }

    func testEncodeSliceAndReuse() {
        var encoder = MirrorBatchEncoder(keys: KeyLayout(prefix: "kz"))
        let writes = [
            write(p, .book(holder: "a")), write(p, .book(holder: "b")),
            write(p, .book(holder: "c")),
        ]
        encoder.encode(writes[0..<3], epoch: 2)
        encoder.encode(writes[1..<3], epoch: 2)
        XCTAssertEqual(
            String(decoding: encoder.bytes, as: UTF8.self),
            "*4\r\n$4\r\nSADD\r\n$13\r\nkz:{P}:booked\r\n$1\r\nb\r\n$1\r\nc\r\n")
        XCTAssertEqual(encoder.commandEnds, [encoder.bytes.count])
    }

    /// Offers, round tags and round fields become HSET/HDEL; consecutive writes to one key
    /// share a command, and a different key (or verb) starts a new one.
    func testRoundWritesBecomeHashCommands() {
        let writes = [
            write(p, .offer(holder: "a", expiresAt: 1_000)),
            write(p, .offer(holder: "b", expiresAt: 2_000)),
            write(p, .tag(holder: "a", round: "r1", rank: 2)), write(p, .unoffer(holder: "c")),
            write(p, .untag(holder: "c")),
            write(q, .field(key: "kz:{round:r1}:apps", field: "h", value: "P Q/2")),
            write(q, .field(key: "kz:{round:r1}:apps", field: "i", value: "Q")),
            write(q, .field(key: "kz:rounds", field: "r1", value: "open")),
            write(q, .unfield(key: "kz:{round:r1}:apps", field: "h")),
        ]
        XCTAssertEqual(
            commands(writes),
            [
                ["HSET", "kz:{P}:offers", "a", "1000", "b", "2000"],
                ["HSET", "kz:{P}:rounds", "a", "r1 2"],
                ["HDEL", "kz:{P}:offers", "c"],
                ["HSET", "kz:{P}:rounds", "c", "-"],
                ["HSET", "kz:{round:r1}:apps", "h", "P Q/2", "i", "Q"],
                ["HSET", "kz:rounds", "r1", "open"],
                ["HDEL", "kz:{round:r1}:apps", "h"],
            ])
    }

    /// A draw's part, a holder's own tag and a dropped tag set fields of one hash: one HSET,
    /// in the order made (RoundTagFields).
    func testTagWritesShareOneHashCommand() {
        let writes = [
            write(p, .tag(holder: "a", round: "r2", rank: 1)), write(p, .untag(holder: "b")),
            write(p, .tagPart(round: "r2", entries: "c 1 d 3")),
        ]
        XCTAssertEqual(
            commands(writes), [["HSET", "kz:{P}:rounds", "a", "r2 1", "b", "-", "#r2", "c 1 d 3"]])
    }

    /// The fenced batch's arguments after the keys and numbers, one string each.
    private func fencedGroups(_ writes: [MirrorWrite]) -> [String] {
        var encoder = MirrorBatchEncoder(keys: KeyLayout(prefix: "kz"))
        encoder.encodeFenced(
            writes[...], script: "abc", thread: 0, epoch: 4, sequence: 9, nextSequence: 10)
        let text = String(decoding: encoder.bytes, as: UTF8.self)
        return Array(
            text.components(separatedBy: "\r\n").filter { !$0.hasPrefix("$") && !$0.isEmpty }
                .dropFirst(10))
    }

    private func numbered(_ writes: [MirrorWrite]) -> [MirrorWrite] {
        writes.enumerated().map { index, write in
            var write = write
            write.number = index + 1
            return write
        }
    }

    /// A batch's audit writes become its one log entry (`A` group, the script's last
    /// command), in the order made; consecutive bookings still share one SADD.
    func testAuditWritesBecomeTheBatchsOneLogEntry() {
        let cause = RoundTag(round: "r1", rank: 2)
        let writes = numbered([
            write(p, .book(holder: "a")), write(p, .audit(.book, holder: "a", cause: nil)),
            write(p, .book(holder: "b")), write(p, .audit(.book, holder: "b", cause: cause)),
            write(q, .capacity(4)), write(q, .auditCapacity(4)),
        ])
        XCTAssertEqual(
            fencedGroups(writes),
            [
                "S", "kz:{P}:booked", "2", "a", "b",
                "T", "kz:{Q}:capacity", "1", "4",
                "S", "kz:providers", "1", "Q",
                "A", "kz:audit", "6", "book", "P a", "book", "P b r1 2", "capacity", "Q 4",
            ])
        // Plain commands (recovery's settling, which logs its step itself) leave them out.
        XCTAssertEqual(
            commands(writes),
            [
                ["SADD", "kz:{P}:booked", "a", "b"], ["SET", "kz:{Q}:capacity", "4"],
                ["SADD", "kz:providers", "Q"],
            ])
    }

    /// A step with more changes than one Redis call carries is split into log groups.
    func testALargeStepIsSplitIntoLogGroups() {
        let count = AuditLog.maxChangesPerCall + 10
        let writes = numbered(
            (0..<count).flatMap {
                [
                    write(p, .book(holder: "h\($0)")),
                    write(p, .audit(.book, holder: "h\($0)", cause: nil)),
                ]
            })
        let groups = fencedGroups(writes)
        XCTAssertEqual(
            groups.indices.filter { groups[$0] == "A" && groups[$0 + 1] == "kz:audit" }.map {
                groups[$0 + 2]
            },
            [String(2 * AuditLog.maxChangesPerCall), "20"])
    }

    /// Writes a write-back already logged (numbered up to `loggedThrough`) are applied, not logged.
    func testWritesAWriteBackLoggedAreNotLoggedAgain() {
        let provider = Provider(id: "R", owner: 0, outbox: outbox, capacity: 10)
        let writes = numbered([
            write(provider, .book(holder: "a")),
            write(provider, .audit(.book, holder: "a", cause: nil)),
            write(provider, .book(holder: "b")),
            write(provider, .audit(.book, holder: "b", cause: nil)),
        ])
        provider.logged(through: 2)
        XCTAssertEqual(
            fencedGroups(writes),
            ["S", "kz:{R}:booked", "2", "a", "b", "A", "kz:audit", "2", "book", "R b"])
    }

    /// A batch ends where a request ends: never between a change and its audit entry, and a
    /// request larger than a batch goes whole.
    func testBatchesEndWhereRequestsEnd() {
        let limit = MirrorConnection.maxWritesPerBatch
        func request(_ size: Int) -> [MirrorWrite] {
            (0..<size).map { index in
                var write = self.write(p, .book(holder: "h\(index)"))
                write.continues = index < size - 1
                return write
            }
        }
        XCTAssertEqual(MirrorConnection.batchSize(request(3)), 3)
        // Pairs (a change and its audit entry) up to one past the limit: the cut falls between pairs.
        let pairs = (0..<(limit / 2 + 1)).flatMap { _ in request(2) }
        XCTAssertEqual(MirrorConnection.batchSize(pairs), limit)
        let odd = request(1) + pairs
        XCTAssertEqual(MirrorConnection.batchSize(odd), limit - 1)
        XCTAssertEqual(MirrorConnection.batchSize(request(limit + 500) + request(2)), limit + 500)
    }
}
