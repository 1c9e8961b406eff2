import ArgumentParser
import KezekClientSupport

/// `kezek-audit replay`: replays the audit log in Redis from its start (on Redis Cluster, every
/// shard's log: `--cluster`), checks that its steps come in order, rebuilds every provider and
/// compares it with what kezekd serves (SEATS, and STATUS of every holder the log names);
/// exits 1 on any difference. `--holder H` and `--provider P` print histories.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay the audit log and compare it with what kezekd serves.")

    @Option(
        help:
            "Redis that kezekd mirrors to (HOST:PORT, loopback); with --cluster, any node of the cluster."
    )
    var redis = "127.0.0.1:6379"

    @Option(
        help:
            "kezekd's client address (HOST:PORT, loopback); with --cluster, any kezekd node (-MOVED is followed)."
    )
    var kezekd = "127.0.0.1:7379"

    @Option(name: .customLong("key-prefix"), help: "kezekd's key prefix.")
    var keyPrefix = "kezek"

    @Option(help: "Token for AUTH on kezekd, if it has one.")
    var token: String?

    @Option(help: "Print this holder's history across providers.")
    var holder: String?

    @Option(help: "Print this provider's history.")
    var provider: String?

    @Flag(help: "Redis Cluster: replay the log of every shard (one per master).")
    var cluster = false

    @Option(name: .customLong("page-size"), help: "Log entries read per XRANGE.")
    var pageSize = 10_000

    func run() throws {
        let daemons = DaemonClients(first: kezekd, token: token)
        var differences: [String] = []
        var history: [LogReplay.Change] = []
        var providers = 0, steps = 0, changes = 0
        for (redisAddress, log) in try logs() {
            let redisClient = try LineClient(address: redisAddress)
            let replay = try replayLog(log, redisClient) { change in
                if change.subject == holder || change.provider == provider {
                    history.append(change)
                }
            }
            steps += replay.entries
            changes += replay.changes
            providers += replay.providers.count
            differences += replay.anomalies.map { "\(log): \($0)" }
            for (id, rebuilt) in replay.providers.sorted(by: { $0.key < $1.key }) {
                differences += rebuilt.anomalies.map { "\(id): \($0)" }
                differences += try compare(id, rebuilt, daemons)
            }
        }
        for change in history {
            let cause = change.cause.map { " (\($0))" } ?? ""
            print(
                "  \(change.entry)  epoch \(change.epoch) seq \(change.seq)  \(change.provider)  \(change.op) \(change.subject)\(cause)"
            )
        }
        for line in differences.prefix(50) { print("difference: \(line)") }
        print(
            "providers: \(providers), log entries: \(steps), changes: \(changes), differences: \(differences.count)"
        )
        if !differences.isEmpty { throw ExitCode(1) }
        print("replay: the audit log rebuilds what kezekd serves")
    }

    /// The logs to replay, with the Redis that holds each: the key prefix's one log, or on
    /// Redis Cluster every shard's (found by its step counter, `<prefix>:{<shard>}:steps`).
    private func logs() throws -> [(redis: String, log: String)] {
        guard cluster else { return [(redis, "\(keyPrefix):audit")] }
        let slots = try LineClient(address: redis).command(["CLUSTER", "SLOTS"]).items
        let masters = Set(
            slots.compactMap { range -> String? in
                let node = range.items.count > 2 ? range.items[2].items : []
                guard node.count >= 2, let host = node[0].text, let port = node[1].text else {
                    return nil
                }
                return "\(host):\(port)"
            })
        var found: [(String, String)] = []
        for master in masters.sorted() {
            let client = try LineClient(address: master)
            var cursor = "0"
            repeat {
                let reply = try client.command([
                    "SCAN", cursor, "MATCH", "\(keyPrefix):{*}:steps", "COUNT", "1000",
                ]).items
                cursor = reply.first?.text ?? "0"
                for key in (reply.count > 1 ? reply[1].items : []).compactMap(\.text) {
                    found.append((master, String(key.dropLast(":steps".count)) + ":audit"))
                }
            } while cursor != "0"
        }
        return found
    }

    private func replayLog(_ log: String, _ redis: LineClient, _ each: (LogReplay.Change) -> Void)
        throws -> LogReplay
    {
        var replay = LogReplay()
        var start = "-"
        while true {
            let page = try redis.command(["XRANGE", log, start, "+", "COUNT", String(pageSize)])
                .items
            for entry in page {
                let parts = entry.items
                guard parts.count == 2, let id = parts[0].text else { continue }
                replay.apply(id: id, fields: parts[1].items.compactMap(\.text), each)
                start = "(" + id
            }
            if page.count < pageSize { return replay }
        }
    }

    /// Differences between the replayed provider and kezekd's SEATS and STATUS answers.
    private func compare(_ provider: String, _ replay: ProviderReplay, _ daemons: DaemonClients)
        throws -> [String]
    {
        var differences: [String] = []
        let seats = try daemons.command(["SEATS", provider]).text ?? ""
        var served: [String: Int] = [:]
        for pair in seats.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { served[String(parts[0])] = value }
        }
        for (field, value) in [
            ("capacity", replay.capacity), ("booked", replay.booked.count),
            ("offered", replay.offered.count), ("waiting", replay.waiting.count),
        ] {
            let servedValue = served[field] ?? 0
            if servedValue != value {
                differences.append("\(provider): \(field) replayed \(value), served \(servedValue)")
            }
        }
        var expected: [(String, String)] = replay.booked.sorted().map { ($0, "BOOKED") }
        expected += replay.offered.sorted().map { ($0, "OFFERED") }
        expected += replay.waiting.enumerated().map { ($1, "WAITING \($0 + 1)") }
        let replies = try daemons.pipeline(expected.map { ["STATUS", provider, $0.0] })
        for ((holder, want), reply) in zip(expected, replies) {
            let got = reply.text ?? ""
            let matches = want == "OFFERED" ? got.hasPrefix("OFFERED ") : got == want
            if !matches {
                differences.append("\(provider): \(holder) replayed \(want), served \(got)")
            }
        }
        return differences
    }
}

/// kezekd connections by address: a request answered `-MOVED <slot> <host:port>` (Redis
/// Cluster) goes again to the node named.
final class DaemonClients {
    private var clients: [String: LineClient] = [:]
    private let first: String
    private let token: String?

    init(first: String, token: String?) {
        self.first = first
        self.token = token
    }

    func command(_ arguments: [String]) throws -> RESPValue {
        try pipeline([arguments])[0]
    }

    /// Replies in order; the commands of one call name one provider, so one -MOVED moves all.
    func pipeline(_ commands: [[String]]) throws -> [RESPValue] {
        var address = first
        for _ in 0..<3 {
            let replies = try client(address).commands(commands)
            guard case .error(let text)? = replies.first, text.hasPrefix("MOVED "),
                let target = text.split(separator: " ").last
            else { return replies }
            address = String(target)
        }
        throw ValidationError("kezekd kept answering -MOVED for \(commands.first ?? [])")
    }

    private func client(_ address: String) throws -> LineClient {
        if let client = clients[address] { return client }
        let client = try LineClient(address: address)
        if let token { _ = try client.command(["AUTH", token]) }
        clients[address] = client
        return client
    }
}
