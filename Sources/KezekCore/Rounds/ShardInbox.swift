/// Messages from one shard's holder to another's on Redis Cluster (docs/SCALING.md, "Fair
/// rounds across shards"): no connection between nodes, a stream in the receiver's own slot on
/// its own master instead. A message is posted by a script that checks the sender's fence there
/// (a deposed holder cannot post), and applied by the receiver's holder in the same batch that
/// records its id (`InboxFollower`), so it is applied once across the receiver's takeovers; a
/// message posted twice changes nothing the second time (each one sets a state).
///
///     <prefix>:{<S>}:inbox          STREAM  from <shard> epoch <e> kind <kind> round <R>
///     <prefix>:{<S>}:inbox-state    HASH    applied -> the id of the last message applied
///     <prefix>:{<S>}:foreign-rounds HASH    round -> frozen, while another shard's round holds S
enum ShardInbox {
    /// The field of `…:inbox-state` that holds the last message applied, and the value of a
    /// frozen round in `…:foreign-rounds` (read and written by the follower, the rounds, the
    /// load and the write-back).
    static let appliedField = "applied"
    static let frozen = "frozen"

    struct Message: Equatable, Sendable {
        enum Kind: String, Sendable {
            /// A round opened at the sender: BOOK answers `+ROUND <round>` here too.
            case freeze
            /// That round is drawn: first come, first served again here.
            case thaw
        }

        let kind: Kind
        let round: String
        /// The sender's shard (its identity slot) and its holder's epoch.
        let from: Int
        let epoch: Int

        var fields: [String] {
            ["from", String(from), "epoch", String(epoch), "kind", kind.rawValue, "round", round]
        }

        /// A stream entry's fields, or nil when they are not a message of this release.
        init?(fields: [String]) {
            var named: [String: String] = [:]
            for index in stride(from: 0, to: fields.count - 1, by: 2) {
                named[fields[index]] = fields[index + 1]
            }
            guard let kind = named["kind"].flatMap(Kind.init(rawValue:)),
                let round = named["round"], Identifier.isValid(round),
                let from = named["from"].flatMap(Int.init),
                let epoch = named["epoch"].flatMap(Int.init)
            else { return nil }
            self.init(kind: kind, round: round, from: from, epoch: epoch)
        }

        init(kind: Kind, round: String, from: Int, epoch: Int) {
            self.kind = kind
            self.round = round
            self.from = from
            self.epoch = epoch
        }
    }

    /// KEYS[1] the receiver's inbox, KEYS[2] the sender's fence on the receiver's master (one
    /// slot: both carry the receiver's tag). ARGV: the sender's epoch, then the message's
    /// fields. Refused (`KZFENCED`) for an epoch older than the fence; else the entry's id.
    static let postScript = """
        local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
        if tonumber(ARGV[1]) < fence then
          return redis.error_reply('\(FencingRefusal.fenced.rawValue) fence is ' .. fence)
        end
        return redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
        """

    /// Posts `message` to the shard whose keys are `receiver`, on that shard's master, where
    /// `fence` is the sender's fence (`HolderUnitKeys.fence`, which the holder limit's scripts
    /// check too). Returns the entry's id; throws when Redis refused it (a fenced sender) or
    /// failed.
    static func post(
        _ message: Message, to receiver: KeyLayout, fence: String, on redis: RedisSyncConnection
    ) throws -> String {
        let reply = try redis.command(
            ["EVAL", postScript, "2", receiver.inbox, fence, String(message.epoch)]
                + message.fields)
        guard let id = reply.string else {
            throw RedisSyncConnection.Failure(description: "inbox post: \(reply.summary)")
        }
        return id
    }
}
