import XCTest
@testable import KezekCore

/// The messages between shards' holders (`ShardInbox`) and how the rounds apply them: the
/// effect and the message's id written in one ledger flush, effect first; a message applied
/// twice changes nothing; the shard's own round answers BOOK before another shard's.
final class ShardInboxTests: XCTestCase {
    private var outbox: MirrorOutbox!
    private var registry: RoundRegistry!
    private let keys = KeyLayout(prefix: "kz", shardTag: "s5")

    override func setUp() {
        super.setUp()
        outbox = MirrorOutbox()
        registry = RoundRegistry(keys: keys, ledgerOutbox: outbox)
    }

    private func message(_ kind: ShardInbox.Message.Kind, _ round: String) -> ShardInbox.Message {
        ShardInbox.Message(kind: kind, round: round, from: 0, epoch: 3)
    }

    /// The ledger's writes since the last call, as `HSET key field value` / `HDEL key field`.
    private func ledgerWrites() -> [String] {
        var writes: [MirrorWrite] = []
        outbox.drain(into: &writes)
        return writes.compactMap { write in
            switch write.op {
            case .field(let key, let field, let value): "HSET \(key) \(field) \(value)"
            case .unfield(let key, let field): "HDEL \(key) \(field)"
            default: nil
            }
        }
    }

    func testAMessageReadsBackFromItsFields() {
        let sent = message(.freeze, "spring")
        XCTAssertEqual(ShardInbox.Message(fields: sent.fields), sent)
        XCTAssertEqual(
            sent.fields, ["from", "0", "epoch", "3", "kind", "freeze", "round", "spring"])
        for bad in [
            ["from", "0", "epoch", "3", "kind", "melt", "round", "spring"],
            ["from", "0", "epoch", "3", "kind", "thaw", "round", "no spaces"],
            ["from", "x", "epoch", "3", "kind", "thaw", "round", "spring"],
            ["from", "0", "kind", "thaw", "round", "spring"],
            ["from", "0", "epoch"],
        ] {
            XCTAssertNil(ShardInbox.Message(fields: bad), "\(bad)")
        }
    }

    func testAFreezeAndItsIdAreOneFlushEffectFirst() {
        registry.applyFromInbox(message(.freeze, "spring"), id: "1-1")
        XCTAssertEqual(
            ledgerWrites(),
            ["HSET kz:{s5}:foreign-rounds spring frozen", "HSET kz:{s5}:inbox-state applied 1-1"])
        XCTAssertEqual(registry.undrawnRound(), "spring")
        registry.applyFromInbox(message(.thaw, "spring"), id: "1-2")
        XCTAssertEqual(
            ledgerWrites(),
            ["HDEL kz:{s5}:foreign-rounds spring", "HSET kz:{s5}:inbox-state applied 1-2"])
        XCTAssertNil(registry.undrawnRound())
        XCTAssertEqual(registry.foreignState.inboxApplied, "1-2")
    }

    /// A successor applies again what its predecessor applied in memory only: the same state.
    func testApplyingAMessageTwiceChangesNothing() {
        registry.applyFromInbox(message(.freeze, "spring"), id: "1-1")
        registry.applyFromInbox(message(.freeze, "spring"), id: "1-1")
        XCTAssertEqual(registry.foreignState.rounds, ["spring"])
        registry.applyFromInbox(message(.thaw, "spring"), id: "1-2")
        registry.applyFromInbox(message(.thaw, "spring"), id: "1-2")
        XCTAssertEqual(registry.foreignState.rounds, [])
        XCTAssertNil(registry.undrawnRound())
        // A thaw of a round never frozen here (its freeze lost with a master's data) is
        // recorded as applied and changes nothing else.
        registry.applyFromInbox(message(.thaw, "autumn"), id: "1-3")
        XCTAssertNil(registry.undrawnRound())
        XCTAssertEqual(registry.foreignState.inboxApplied, "1-3")
    }

    func testRestoredForeignRoundsAnswerBookUntilTheirThaw() {
        registry.restoreForeign(["autumn"], inboxApplied: "7-0")
        XCTAssertEqual(registry.undrawnRound(), "autumn")
        XCTAssertEqual(registry.foreignState.inboxApplied, "7-0")
        registry.applyFromInbox(message(.thaw, "autumn"), id: "7-1")
        XCTAssertNil(registry.undrawnRound())
    }

    func testTheShardsOwnUndrawnRoundAnswersFirst() {
        registry.applyFromInbox(message(.freeze, "spring"), id: "1-1")
        _ = ledgerWrites()
        registry.restore(
            Round(
                id: "local", commitment: String(repeating: "0", count: 64), choiceLimit: 3,
                phase: .open, openedAt: 1))
        XCTAssertEqual(registry.undrawnRound(), "local")
        registry.applyFromInbox(message(.thaw, "spring"), id: "1-2")
        XCTAssertEqual(registry.undrawnRound(), "local", "the own round is still undrawn")
    }
}
