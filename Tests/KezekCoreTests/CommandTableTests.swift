import Foundation
import XCTest
@testable import KezekCore

/// The command table is the one declaration of each verb: the docs must show every verb, and
/// what COMMAND derives from it must stay what Redis clients were told before.
final class CommandTableTests: XCTestCase {
    func testEveryVerbHasOneEntry() {
        XCTAssertEqual(CommandTable.byVerb.map(\.verb), Verb.allCases)
        XCTAssertEqual(CommandTable.entries.count, Verb.allCases.count)
    }

    /// docs/PROTOCOL.md's command tables write each request as the table's `usage`.
    func testEveryVerbIsInProtocolDocs() throws {
        let docs = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../docs/PROTOCOL.md")
        let rows = try String(contentsOf: docs, encoding: .utf8)
            .split(separator: "\n").filter { $0.hasPrefix("|") }.joined(separator: "\n")
        for entry in CommandTable.entries {
            XCTAssertTrue(entry.usage.hasPrefix(entry.name), entry.usage)
            let written = "`" + entry.usage.replacingOccurrences(of: "|", with: "\\|")
            XCTAssertTrue(
                rows.contains(written + "`"),
                "\(entry.name): no table row of docs/PROTOCOL.md shows \(written)`")
        }
    }

    /// COMMAND lists what it listed when CommandDocs declared it by hand, in that order, with
    /// the same Redis arity (name counted, negative for "at least").
    func testRedisArityOfTheDocumentedCommands() {
        let declaredBefore = [
            "book": -3, "cancel": 3, "status": 3, "seats": 2, "provider": 3, "confirm": 3,
            "round": -3, "apply": -4, "withdraw": 3, "result": 3, "demand": 2, "health": 1,
            "ping": -1, "auth": -2, "acl": -2, "quit": 1, "hello": -1, "echo": 2, "select": 2,
            "info": -1, "cluster": -2,
        ]
        let listedBefore = [
            "book", "cancel", "status", "seats", "provider", "confirm", "round", "apply",
            "withdraw", "result", "demand", "health", "ping", "auth", "acl", "quit", "hello",
            "echo", "select", "info", "cluster",
        ]
        // A command added later comes after these.
        let listed = CommandTable.documented.prefix(listedBefore.count)
        XCTAssertEqual(listed.map { $0.name.lowercased() }, listedBefore)
        for entry in listed {
            XCTAssertEqual(entry.redisArity, declaredBefore[entry.name.lowercased()], entry.name)
        }
    }

    func testProviderKeyedVerbsAreThoseRoutedOnCluster() {
        XCTAssertEqual(
            Verb.allCases.filter(\.isKeyedByProvider),
            [.book, .cancel, .status, .seats, .provider, .confirm, .demand])
        XCTAssertEqual(Verb.allCases.filter(\.isRoundVerb), [.round, .apply, .withdraw, .result])
        for verb in Verb.allCases where verb.isKeyedByProvider || verb.isRoundVerb {
            XCTAssertTrue(verb.needsState, verb.name)
        }
    }
}
