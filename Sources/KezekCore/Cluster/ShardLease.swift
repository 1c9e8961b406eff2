/// One shard's lease as its master holds it: the holder's lease value, the epoch it took,
/// and the client address it announced. The directory names the address in `-MOVED` and
/// `CLUSTER SLOTS` only once the kezekd there confirmed that it holds this very lease
/// (`confirmed(shardSlot:timeoutMillis:)`): a stale or mistyped address then makes that shard answer
/// `-UNAVAILABLE … retry` for a moment instead of sending clients around in a loop.
struct ShardLease: Equatable {
    let owner: String
    let epoch: Int
    let address: ServerSettings.Endpoint

    /// Reads it from the shard's master in one round trip; nil when nobody holds the shard
    /// (no lease value, or no address announced with it). Throws when the master does not
    /// answer: then nothing is known.
    static func read(_ keys: KeyLayout, from redis: RedisSyncConnection) throws -> ShardLease? {
        redis.append(["GET", keys.leaseOwner])
        redis.append(["GET", keys.leaseEpoch])
        redis.append(["GET", keys.ownerAddress])
        let owner = try redis.reply().string, epoch = try redis.reply().string.flatMap { Int($0) },
            address = try redis.reply().string
        guard let owner, let epoch, let address = address.flatMap(ClusterDirectory.endpoint) else {
            return nil
        }
        return ShardLease(owner: owner, epoch: epoch, address: address)
    }

    /// The kezekd at `address` says it holds the lease of `shardSlot` at `epoch`: its HEALTH
    /// line (answered without a token, ready or not) carries `shard=<slot> epoch=<n>`.
    func confirmed(shardSlot: Int, timeoutMillis: Int) -> Bool {
        guard
            let node = try? RedisSyncConnection(
                endpoint: address, connectTimeoutMillis: timeoutMillis,
                replyTimeoutMillis: timeoutMillis),
            let reply = try? node.replyTo(["HEALTH"])
        else { return false }
        let line: String
        switch reply {
        case .string(let text), .error(let text): line = text
        default: return false
        }
        let fields = line.split(separator: " ")
        return fields.contains("shard=\(shardSlot)") && fields.contains("epoch=\(epoch)")
    }
}

extension RedisSyncConnection {
    /// One command's reply, an error reply included.
    func replyTo(_ arguments: [String]) throws -> RedisValue {
        append(arguments)
        return try replyOrError()
    }
}
