import Glibc

/// A provider of the catalog file (`catalog` setting): CSV lines `provider,capacity[,...]`,
/// an optional header line starting with `provider`, `#` comments and blank lines ignored.
public struct CatalogEntry: Equatable, Sendable {
    public var provider: String
    public var capacity: Int
}

public enum Catalog {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(path: String, maxCapacity: Int) throws -> [CatalogEntry] {
        guard let file = fopen(path, "r") else {
            throw Failure(description: "cannot read catalog '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            text += chunk[0..<count]
        }
        return try parse(String(decoding: text, as: UTF8.self), maxCapacity: maxCapacity, source: path)
    }

    public static func parse(_ text: String, maxCapacity: Int, source: String = "catalog") throws -> [CatalogEntry] {
        var entries: [CatalogEntry] = []
        var seen = Set<String>()
        // Split on any newline character: Swift sees "\r\n" as one Character, not as "\n".
        for (number, rawLine) in text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated() {
            let line = rawLine.trimmingSuffix("\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let id = String(fields[0])
            if number == 0 && id == "provider" { continue }
            guard Identifier.isValid(id) else {
                throw Failure(description: "\(source):\(number + 1): invalid provider id '\(id)'")
            }
            guard fields.count >= 2, let capacity = Int(fields[1]), capacity >= 0, capacity <= maxCapacity else {
                throw Failure(description: "\(source):\(number + 1): invalid capacity for '\(id)'")
            }
            guard seen.insert(id).inserted else {
                throw Failure(description: "\(source):\(number + 1): provider '\(id)' listed twice")
            }
            entries.append(CatalogEntry(provider: id, capacity: capacity))
        }
        return entries
    }
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring {
        last == suffix ? dropLast() : self
    }
}
