import Foundation
import KezekClientSupport

/// Reads kezekd's state straight from Redis without knowing its key layout: lists the keys
/// under a prefix (`redis-cli --scan`) and the members of every set, sorted set and hash.
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
            let read: [String]
            switch type {
            case "set": read = ["SMEMBERS", key]
            case "zset": read = ["ZRANGE", key, "0", "-1"]
            case "hash": read = ["HKEYS", key]
            default: continue
            }
            if case .array(let items?) = try client.command(read) {
                result[key] = Set(items.compactMap(\.text))
            }
        }
        return result
    }
}
