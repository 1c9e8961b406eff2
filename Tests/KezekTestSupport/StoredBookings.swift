import KezekCore

/// The holders with a seat at a provider as kezekd keeps them in Redis: the set
/// `<prefix>:{P}:booked` and the batches' hash `<prefix>:{P}:booked-batches` (`BookedBatches`),
/// read through `cli` (a `redis-cli` of the right server, one item per output line).
public enum StoredBookings {
    public static func holders(
        _ provider: String, prefix: String = "kezek", cli: ([String]) throws -> String
    ) throws -> [String] {
        let keys = KeyLayout(prefix: prefix)
        let members = try cli(["SMEMBERS", keys.booked(provider)]).split(separator: "\n")
            .map(String.init)
        let items = try cli(["HGETALL", keys.bookedBatches(provider)]).split(separator: "\n")
            .map(String.init)
        return booked(set: members, batchItems: items)
    }

    /// The same from replies already read: the set's members and the hash's fields and values
    /// in turn. A field that does not parse is a fault of the code that wrote it: it comes
    /// back as `bad field <field>`, which no holder id equals, so a check of the list fails.
    public static func booked(set members: [String], batchItems items: [String]) -> [String] {
        let pairs = stride(from: 0, to: items.count - 1, by: 2).map {
            (field: items[$0], value: items[$0 + 1])
        }
        var bad: [String] = []
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
