import ArgumentParser

/// `kezek-audit replay`: rebuilds every provider from its audit stream in Redis and compares
/// it with what kezekd serves (SEATS, and STATUS of every holder the stream names), provider
/// by provider; exits 1 on any difference. `--holder H` prints H's history across providers.
struct ReplayCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay the audit streams and compare them with what kezekd serves.")

    @Option(help: "Redis that kezekd mirrors to (HOST:PORT, loopback).")
    var redis = "127.0.0.1:6379"

    @Option(help: "kezekd's client address (HOST:PORT, loopback).")
    var kezekd = "127.0.0.1:7379"

    @Option(name: .customLong("key-prefix"), help: "kezekd's key prefix.")
    var keyPrefix = "kezek"

    @Option(help: "Token for AUTH on kezekd, if it has one.")
    var token: String?

    @Option(help: "Print this holder's history across providers.")
    var holder: String?

    @Option(name: .customLong("page-size"), help: "Stream entries read per XRANGE.")
    var pageSize = 10_000

    func run() throws {
        let redisClient = try RESPClient(redis)
        let daemon = try RESPClient(kezekd)
        if let token { _ = try daemon.command(["AUTH", token]) }
        let providers = try redisClient.command(["SMEMBERS", "\(keyPrefix):providers"]).items.compactMap(\.text).sorted()
        var differences: [String] = []
        var history: [(id: String, provider: String, fields: [String: String])] = []
        var entries = 0
        for provider in providers {
            let replay = try replayStream(of: provider, redisClient) { id, fields in
                if let holder, fields["holder"] == holder { history.append((id, provider, fields)) }
            }
            entries += replay.entries
            differences += replay.anomalies.map { "\(provider): \($0)" }
            differences += try compare(provider, replay, daemon)
        }
        if let holder {
            print("history of \(holder):")
            for entry in history.sorted(by: { Self.streamOrder($0.id, $1.id) }) {
                let cause = entry.fields["round"].map { " (round \($0), choice \(entry.fields["rank"] ?? "?"))" } ?? ""
                print("  \(entry.id)  \(entry.provider)  \(entry.fields["op"] ?? "?")\(cause)")
            }
        }
        for line in differences.prefix(50) { print("difference: \(line)") }
        print("providers: \(providers.count), audit entries: \(entries), differences: \(differences.count)")
        if !differences.isEmpty { throw ExitCode(1) }
        print("replay: every provider's audit stream rebuilds what kezekd serves")
    }

    private func replayStream(of provider: String, _ redis: RESPClient,
                              _ each: (String, [String: String]) -> Void) throws -> ProviderReplay {
        var replay = ProviderReplay()
        var start = "-"
        while true {
            let page = try redis.command(["XRANGE", "\(keyPrefix):{\(provider)}:audit", start, "+", "COUNT", String(pageSize)]).items
            for entry in page {
                let parts = entry.items
                guard parts.count == 2, let id = parts[0].text else { continue }
                let flat = parts[1].items.compactMap(\.text)
                var fields: [String: String] = [:]
                for index in stride(from: 0, to: flat.count - 1, by: 2) { fields[flat[index]] = flat[index + 1] }
                replay.apply(id: id, fields: fields)
                each(id, fields)
                start = "(" + id
            }
            if page.count < pageSize { return replay }
        }
    }

    /// Differences between the replayed provider and kezekd's SEATS and STATUS answers.
    private func compare(_ provider: String, _ replay: ProviderReplay, _ daemon: RESPClient) throws -> [String] {
        var differences: [String] = []
        let seats = try daemon.command(["SEATS", provider]).text ?? ""
        var served: [String: Int] = [:]
        for pair in seats.split(separator: " ").dropFirst() {
            let parts = pair.split(separator: "=")
            if parts.count == 2, let value = Int(parts[1]) { served[String(parts[0])] = value }
        }
        for (field, value) in [("capacity", replay.capacity), ("booked", replay.booked.count),
                               ("offered", replay.offered.count), ("waiting", replay.waiting.count)] {
            let servedValue = served[field] ?? 0
            if servedValue != value { differences.append("\(provider): \(field) replayed \(value), served \(servedValue)") }
        }
        var expected: [(String, String)] = replay.booked.sorted().map { ($0, "BOOKED") }
        expected += replay.offered.sorted().map { ($0, "OFFERED") }
        expected += replay.waiting.enumerated().map { ($1, "WAITING \($0 + 1)") }
        let replies = try daemon.pipeline(expected.map { ["STATUS", provider, $0.0] })
        for ((holder, want), reply) in zip(expected, replies) {
            let got = reply.text ?? ""
            let matches = want == "OFFERED" ? got.hasPrefix("OFFERED ") : got == want
            if !matches { differences.append("\(provider): \(holder) replayed \(want), served \(got)") }
        }
        return differences
    }

    /// Stream ids `<ms>-<seq>` in time order.
    static func streamOrder(_ a: String, _ b: String) -> Bool {
        let x = a.split(separator: "-").compactMap { Int($0) }, y = b.split(separator: "-").compactMap { Int($0) }
        return x.lexicographicallyPrecedes(y)
    }
}
