import KezekCore

/// The holders with a seat at a provider as kezekd keeps them in Redis: the set
/// `<prefix>:{P}:booked` and the batches' hash `<prefix>:{P}:booked-batches` (`BookedBatches`),
/// read through `cli` (a `redis-cli` of the right server, one item per output line). A field
/// whose run is in the audit log (`BookedBatches.LogPlace`) is read from the log entry it names.
public enum StoredBookings {
    public static func holders(
        _ provider: String, prefix: String = "kezek", cli: ([String]) throws -> String
    ) throws -> [String] {
        let keys = KeyLayout(prefix: prefix)
        let members = try cli(["SMEMBERS", keys.booked(provider)]).split(separator: "\n")
            .map(String.init)
        let items = try cli(["HGETALL", keys.bookedBatches(provider)]).split(separator: "\n")
            .map(String.init)
        return try booked(set: members, batchItems: items, provider: provider) { entry in
            // redis-cli prints XRANGE's one entry as its id, then its fields and values.
            let lines = try cli(["XRANGE", keys.auditLog, entry, entry]).split(separator: "\n")
                .map(String.init)
            return lines.first == entry ? Array(lines.dropFirst()) : nil
        }
    }

    /// The same from replies already read: the set's members and the hash's fields and values
    /// in turn. A field that does not parse is a fault of the code that wrote it: it comes
    /// back as `bad field <field>`, which no holder id equals, so a check of the list fails.
    /// `logEntry` gives a log entry's fields and values by its id (nil when the log lacks it).
    public static func booked(
        set members: [String], batchItems items: [String], provider: String,
        logEntry: (String) throws -> [String]?
    ) throws -> [String] {
        var bad: [String] = []
        var pairs: [(field: String, value: String)] = []
        for index in stride(from: 0, to: items.count - 1, by: 2) {
            let (field, value) = (items[index], items[index + 1])
            guard BookedBatches.LogPlace.isMeant(value) else {
                pairs.append((field, value))
                continue
            }
            guard let place = BookedBatches.LogPlace(value),
                let holders = try logEntry(place.entry).flatMap({
                    place.holders(inEntry: $0, provider: provider)
                })
            else {
                bad.append("bad field \(field): \(value)")
                continue
            }
            pairs.append((field, holders))
        }
        let holders = BookedBatches.booked(set: members, batches: pairs) {
            bad.append("bad field \($0)")
        }
        return (holders + bad).sorted()
    }

    public static func holders(
        _ provider: String, prefix: String = "kezek", in redis: RedisServerProcess
    ) throws -> [String] {
        try holders(provider, prefix: prefix) { try redis.cli($0) }
    }
}
