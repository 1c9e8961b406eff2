import Foundation

/// Reads kezekd's state straight from Redis without knowing its key layout: lists the keys
/// under a prefix (`redis-cli --scan`) and the members of every set, sorted set and hash.
struct RedisInspector {
    let redis: RedisServerProcess

    /// Members (set/zset) or fields (hash) of every collection key under `prefix`.
    func collections(prefix: String) throws -> [String: Set<String>] {
        let keys = try redis.cli(["--scan", "--pattern", "\(prefix)*"]).split(separator: "\n").map(String.init)
        let client = try LineClient(port: redis.port)
        var result: [String: Set<String>] = [:]
        for key in keys {
            guard case .simple(let type)? = try command(client, ["TYPE", key]) else { continue }
            let read: [String]
            switch type {
            case "set": read = ["SMEMBERS", key]
            case "zset": read = ["ZRANGE", key, "0", "-1"]
            case "hash": read = ["HKEYS", key]
            default: continue
            }
            if case .array(let items)? = try command(client, read) {
                result[key] = Set(items.compactMap { if case .bulk(let text) = $0 { return text } else { return nil } })
            }
        }
        return result
    }

    enum Value { case simple(String), error(String), integer(Int), bulk(String?), array([Value]) }

    /// Sends one RESP command and reads its reply (bulk strings must not span lines).
    func command(_ client: LineClient, _ arguments: [String]) throws -> Value? {
        try client.send(LineClient.resp(arguments))
        return try readValue(client)
    }

    private func readValue(_ client: LineClient) throws -> Value? {
        let line = try client.readLine()
        guard let kind = line.first else { return nil }
        let rest = String(line.dropFirst())
        switch kind {
        case "+": return .simple(rest)
        case "-": return .error(rest)
        case ":": return .integer(Int(rest) ?? 0)
        case "$":
            guard let length = Int(rest), length >= 0 else { return .bulk(nil) }
            return .bulk(try client.readLine())
        case "*":
            guard let count = Int(rest), count >= 0 else { return .array([]) }
            var items: [Value] = []
            for _ in 0..<count { if let item = try readValue(client) { items.append(item) } }
            return .array(items)
        default: return nil
        }
    }
}
