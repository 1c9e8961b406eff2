import Foundation
import KezekClientSupport

/// Reads kezekd's state straight from Redis without knowing its key layout: lists the keys
/// under a prefix (`redis-cli --scan`) and the members of every set, sorted set and hash;
/// the one format it knows is the batches' hash of bookings, read as the set it adds to (its
/// runs in the audit log read from `<prefix>:audit`).
public struct RedisInspector {
    public let redis: RedisServerProcess

    public init(redis: RedisServerProcess) { self.redis = redis }

    /// Members (set/zset) or fields (hash) of every collection key under `prefix`.
    public func collections(prefix: String) throws -> [String: Set<String>] {
        let keys = try redis.cli(["--scan", "--pattern", "\(prefix)*"])
            .split(separator: "\n").map(String.init)
        let client = try LineClient(port: redis.port)
        var result: [String: Set<String>] = [:]
        for key in keys {
            guard case .simple(let type) = try client.command(["TYPE", key]) else { continue }
            if type == "hash", key.hasSuffix(":booked-batches") {
                // Bookings as kezekd batches them (`StoredBookings`): counted with the set's.
                guard case .array(let items?) = try client.command(["HGETALL", key]) else {
                    continue
                }
                // `<prefix>:{<P>}:booked-batches`; its runs in the log are in `<prefix>:audit`.
                guard let open = key.range(of: ":{") else { continue }
                let provider = String(
                    key[open.upperBound...].dropLast("}:booked-batches".count))
                let logKey = String(key[..<open.lowerBound]) + ":audit"
                let holders = try StoredBookings.booked(
                    set: [], batchItems: items.compactMap(\.text), provider: provider
                ) { entry in
                    let pair = try client.command(["XRANGE", logKey, entry, entry]).items.first?
                        .items
                    return pair?.count == 2 ? pair?[1].items.compactMap(\.text) : nil
                }
                result[String(key.dropLast("-batches".count)), default: []].formUnion(holders)
                continue
            }
            let read: [String]
            switch type {
            case "set": read = ["SMEMBERS", key]
            case "zset": read = ["ZRANGE", key, "0", "-1"]
            case "hash": read = ["HKEYS", key]
            default: continue
            }
            if case .array(let items?) = try client.command(read) {
                result[key, default: []].formUnion(items.compactMap(\.text))
            }
        }
        return result
    }
}
