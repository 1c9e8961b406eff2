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

    /// Reads and parses the catalog at `path`: a regular file (or a pipe) of at most
    /// `maxBytes` bytes (`max-catalog-bytes`); a directory or anything larger is an error,
    /// so `--catalog /dev/zero` fails at the limit instead of eating memory.
    public static func load(path: String, maxCapacity: Int, maxBytes: Int) throws -> [CatalogEntry]
    {
        guard let file = fopen(path, "r") else {
            throw Failure(
                description: "cannot read catalog '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var status = stat()
        if fstat(fileno(file), &status) == 0 && (status.st_mode & S_IFMT) == S_IFDIR {
            throw Failure(description: "cannot read catalog '\(path)': it is a directory")
        }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            text += chunk[0..<count]
            guard text.count <= maxBytes else {
                throw Failure(
                    description: "catalog '\(path)' is larger than max-catalog-bytes (\(maxBytes))")
            }
        }
        if ferror(file) != 0 {
            throw Failure(
                description: "cannot read catalog '\(path)': \(String(cString: strerror(errno)))")
        }
        // A UTF-8 byte order mark (spreadsheet exports write one) is not part of the first id.
        if text.starts(with: [0xEF, 0xBB, 0xBF]) { text.removeFirst(3) }
        return try parse(
            String(decoding: text, as: UTF8.self), maxCapacity: maxCapacity, source: path)
    }

    public static func parse(_ text: String, maxCapacity: Int, source: String = "catalog") throws
        -> [CatalogEntry]
    {
        var entries: [CatalogEntry] = []
        var seen = Set<String>()
        // Split on any newline character: Swift sees "\r\n" as one Character, not as "\n".
        for (number, rawLine) in text.split(
            omittingEmptySubsequences: false, whereSeparator: \.isNewline
        ).enumerated() {
            let line = rawLine.trimmingSuffix("\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            let id = String(fields[0])
            if number == 0 && id == "provider" { continue }
            guard Identifier.isValid(id) else {
                throw Failure(description: "\(source):\(number + 1): invalid provider id '\(id)'")
            }
            guard fields.count >= 2, let capacity = Int(fields[1]), capacity >= 0,
                capacity <= maxCapacity
            else {
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
