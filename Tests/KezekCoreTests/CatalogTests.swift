import Foundation
import XCTest
@testable import KezekCore

final class CatalogTests: XCTestCase {
    private func failure(
        _ text: String, maxCapacity: Int = 1_000, file: StaticString = #filePath, line: UInt = #line
    ) -> String? {
        do {
            let entries = try Catalog.parse(text, maxCapacity: maxCapacity, source: "cat.csv")
            XCTFail("parsed \(entries.count) entries, expected an error", file: file, line: line)
            return nil
        } catch let error as Catalog.Failure {
            return error.description
        } catch {
            XCTFail("unexpected \(error)", file: file, line: line)
            return nil
        }
    }

    func testHeaderSkippedAndExtraFieldsIgnored() throws {
        let entries = try Catalog.parse(
            "provider,capacity,district,name\np1,5,Alatau,Sports\np2,0\n", maxCapacity: 100)
        XCTAssertEqual(
            entries,
            [CatalogEntry(provider: "p1", capacity: 5), CatalogEntry(provider: "p2", capacity: 0)])
    }

    func testNoHeader() throws {
        XCTAssertEqual(
            try Catalog.parse("p1,5", maxCapacity: 100), [CatalogEntry(provider: "p1", capacity: 5)]
        )
    }

    func testCommentsAndBlankLines() throws {
        let text = "# providers\n\np1,5\n# another\n\np2,7\n"
        XCTAssertEqual(
            try Catalog.parse(text, maxCapacity: 100),
            [CatalogEntry(provider: "p1", capacity: 5), CatalogEntry(provider: "p2", capacity: 7)])
    }

    /// A CSV saved with Windows line ends (the parser means to drop the "\r").
    func testCRLFLineEnds() throws {
        XCTAssertEqual(
            try Catalog.parse("provider,capacity\r\np1,5\r\np2,7\r\n", maxCapacity: 100),
            [CatalogEntry(provider: "p1", capacity: 5), CatalogEntry(provider: "p2", capacity: 7)])
    }

    func testCRLFWithCommentsAndBlankLines() throws {
        let text = "# providers\r\n\r\np1,5\r\n# another\n\np2,7\r\n"
        XCTAssertEqual(
            try Catalog.parse(text, maxCapacity: 100),
            [CatalogEntry(provider: "p1", capacity: 5), CatalogEntry(provider: "p2", capacity: 7)])
    }

    func testEmptyText() throws {
        XCTAssertEqual(try Catalog.parse("", maxCapacity: 100), [])
    }

    func testBadIdNamesLine() {
        XCTAssertEqual(
            failure("provider,capacity\np1,5\nbad id,3\n"),
            "cat.csv:3: invalid provider id 'bad id'")
        XCTAssertEqual(failure("p/1,3"), "cat.csv:1: invalid provider id 'p/1'")
        XCTAssertEqual(failure(",3"), "cat.csv:1: invalid provider id ''")
        XCTAssertEqual(
            failure(String(repeating: "x", count: 65) + ",3"),
            "cat.csv:1: invalid provider id '\(String(repeating: "x", count: 65))'")
    }

    func testBadCapacityNamesLine() {
        XCTAssertEqual(failure("# c\np1,abc\n"), "cat.csv:2: invalid capacity for 'p1'")
        XCTAssertEqual(failure("p1,-1"), "cat.csv:1: invalid capacity for 'p1'")
        XCTAssertEqual(failure("p1"), "cat.csv:1: invalid capacity for 'p1'")
        XCTAssertEqual(failure("p1,"), "cat.csv:1: invalid capacity for 'p1'")
        XCTAssertEqual(
            failure("p1,1001", maxCapacity: 1_000), "cat.csv:1: invalid capacity for 'p1'")
    }

    func testCapacityAtMaximumAccepted() throws {
        XCTAssertEqual(
            try Catalog.parse("p1,1000", maxCapacity: 1_000),
            [CatalogEntry(provider: "p1", capacity: 1_000)])
    }

    func testDuplicateIdNamesLine() {
        XCTAssertEqual(
            failure("provider,capacity\np1,5\np2,5\n\np1,6\n"),
            "cat.csv:5: provider 'p1' listed twice")
    }

    func testIdsAreCaseSensitive() throws {
        XCTAssertEqual(try Catalog.parse("p1,1\nP1,2", maxCapacity: 10).count, 2)
    }

    func testLoadMissingFileFails() {
        XCTAssertThrowsError(
            try Catalog.load(
                path: "/nonexistent/kezek-catalog.csv", maxCapacity: 10, maxBytes: 1 << 20)
        ) { error in
            XCTAssertTrue(
                String(describing: error).hasPrefix(
                    "cannot read catalog '/nonexistent/kezek-catalog.csv'"))
        }
    }

    func testShippedDemoCatalog() throws {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let path = packageRoot.appendingPathComponent("config/demo-providers.csv").path
        let entries = try Catalog.load(path: path, maxCapacity: 10_000_000, maxBytes: 1 << 20)
        XCTAssertEqual(entries.count, 1_000)
        XCTAssertEqual(entries.reduce(0) { $0 + $1.capacity }, 65_739)
        XCTAssertEqual(Set(entries.map(\.provider)).count, 1_000)
        XCTAssertEqual(
            entries.first, CatalogEntry(provider: "alatau.sportschool-01", capacity: 701))
    }

    // Issue 8, finding 6: a directory started with 0 providers, /dev/zero ate 1.8 GB, a BOM
    // became part of the first id.

    func testDirectoryIsRefused() {
        XCTAssertThrowsError(
            try Catalog.load(path: NSTemporaryDirectory(), maxCapacity: 10, maxBytes: 1 << 20)
        ) { error in
            XCTAssertTrue(String(describing: error).contains("is a directory"), "\(error)")
        }
    }

    func testEndlessFileStopsAtTheLimit() {
        XCTAssertThrowsError(
            try Catalog.load(path: "/dev/zero", maxCapacity: 10, maxBytes: 1 << 20)
        ) { error in
            XCTAssertTrue(
                String(describing: error).contains("larger than max-catalog-bytes (1048576)"),
                "\(error)")
        }
    }

    func testByteOrderMarkIsAccepted() throws {
        let path = NSTemporaryDirectory() + "kezek-bom-\(UUID().uuidString).csv"
        FileManager.default.createFile(
            atPath: path,
            contents: Data([0xEF, 0xBB, 0xBF]) + Data("provider,capacity\np1,5\n".utf8))
        defer { try? FileManager.default.removeItem(atPath: path) }
        XCTAssertEqual(
            try Catalog.load(path: path, maxCapacity: 10, maxBytes: 1 << 20),
            [CatalogEntry(provider: "p1", capacity: 5)])
    }
}
