/// `LATENCY …`, as a Redis whose latency monitor recorded no event answers it (Kezek keeps
/// its latencies in `/metrics`): monitoring tools such as redis_exporter ask at every scrape.
extension CommandExecutor {
    func latency(_ tokens: Tokens, _ connection: ClientConnection) -> Reply {
        var out = RESPWriter(resp3: connection.session.resp3)
        switch String(decoding: tokens[1], as: UTF8.self).uppercased() {
        case "LATEST", "HISTORY":
            out.array(0)
        case "HISTOGRAM":
            out.map(0)
        case "RESET":
            out.integer(0)
        case "DOCTOR":
            out.verbatim(
                "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. "
                    + "I honestly think you ought to sleep tonight.\n")
        default:
            return .unknownSubcommand(tokens[1], "Try LATENCY HELP.")
        }
        return out.reply
    }
}
