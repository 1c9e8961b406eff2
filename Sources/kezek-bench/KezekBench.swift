// kezek-bench: load harness for kezekd. See `kezek-bench --help`.
import ArgumentParser

@main
struct KezekBench: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kezek-bench",
        abstract: "Load harness for the Kezek seat-reservation daemon (loopback targets only).",
        discussion: """
            Every run is bounded in time and count and ends by itself, with a summary: throughput, \
            latency percentiles (HdrHistogram, microseconds), reply counts, and an invariant check \
            through SEATS and STATUS. Exit status: 0 when every invariant holds, 1 when one fails or \
            the daemon cannot be reached, 2 for a refused (non-loopback) target.
            """,
        subcommands: [
            DamubalaCommand.self, BookCommand.self, RoundCommand.self, RoundModelCommand.self,
            NemesisCommand.self,
        ])
}
