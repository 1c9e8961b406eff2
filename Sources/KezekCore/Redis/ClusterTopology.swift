/// Which Redis Cluster master serves which hash slots, as `CLUSTER SLOTS` describes it.
///
/// A shard is one master with its replicas and every slot range it serves. A shard is named
/// by its lowest slot (`identitySlot`): every kezekd computes the same name for it, so two
/// daemons serving one shard meet at the same lease keys (see `ShardTag`).
struct ClusterTopology: Sendable {
    struct Shard: Sendable, Equatable {
        var ranges: [ClosedRange<Int>]
        var master: ServerSettings.Endpoint
        var replicas: [ServerSettings.Endpoint]
        var identitySlot: Int { ranges.map(\.lowerBound).min() ?? 0 }
    }

    /// Ordered by identity slot.
    let shards: [Shard]
    /// Shard index of every slot; `unassigned` where no master serves it.
    let shardOfSlot: [UInt8]
    static let unassigned = UInt8.max

    init(shards unordered: [Shard]) {
        shards = unordered.sorted { $0.identitySlot < $1.identitySlot }
        var index = [UInt8](repeating: Self.unassigned, count: HashSlot.count)
        for (number, shard) in shards.enumerated() where number < Int(Self.unassigned) {
            for range in shard.ranges { for slot in range { index[slot] = UInt8(number) } }
        }
        shardOfSlot = index
    }

    func shard(ofSlot slot: Int) -> Shard? {
        let number = shardOfSlot[slot]
        return number == Self.unassigned ? nil : shards[Int(number)]
    }

    /// Every node the topology names, masters first: where to ask next time.
    var nodes: [ServerSettings.Endpoint] { shards.map(\.master) + shards.flatMap(\.replicas) }

    /// Reads `CLUSTER SLOTS` from `reply`: `[[start, end, [host, port, id…], [replica…]…]…]`.
    static func parse(_ reply: RedisValue) throws -> ClusterTopology {
        guard case .array(let entries) = reply else {
            throw Failure("CLUSTER SLOTS: expected an array, got \(reply.summary)")
        }
        var byMaster: [String: Shard] = [:]
        for entry in entries {
            guard case .array(let parts) = entry, parts.count >= 3,
                case .integer(let start) = parts[0], case .integer(let end) = parts[1],
                0 <= start, start <= end, end < HashSlot.count,
                let master = endpoint(parts[2])
            else {
                throw Failure("CLUSTER SLOTS: unexpected entry \(entry.summary)")
            }
            let replicas = parts[3...].compactMap(endpoint)
            byMaster[
                master.description, default: Shard(ranges: [], master: master, replicas: replicas)
            ].ranges.append(start...end)
        }
        return ClusterTopology(shards: Array(byMaster.values))
    }

    /// Asks the nodes in turn (each given `timeoutMillis`) until one answers `CLUSTER SLOTS`
    /// with every slot served.
    static func fetch(
        from nodes: [ServerSettings.Endpoint], user: String?, password: String?, timeoutMillis: Int
    ) throws -> ClusterTopology {
        var failures: [String] = []
        for node in nodes {
            do {
                let redis = try RedisSyncConnection(
                    endpoint: node, user: user, password: password,
                    connectTimeoutMillis: timeoutMillis, replyTimeoutMillis: timeoutMillis)
                let topology = try parse(try redis.command(["CLUSTER", "SLOTS"]))
                guard !topology.shardOfSlot.contains(unassigned) else {
                    failures.append("\(node): not every slot is served")
                    continue
                }
                return topology
            } catch {
                failures.append("\(node): \(error)")
            }
        }
        throw Failure("no redis cluster node gave its slots: " + failures.joined(separator: "; "))
    }

    private static func endpoint(_ value: RedisValue) -> ServerSettings.Endpoint? {
        guard case .array(let fields) = value, fields.count >= 2, let host = fields[0].string,
            !host.isEmpty,
            case .integer(let port) = fields[1], (1...65535).contains(port)
        else { return nil }
        return ServerSettings.Endpoint(host: host, port: port)
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
