import ArgumentParser

/// `kezek-audit`: checks what Kezek published, from the published files alone.
@main
struct KezekAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kezek-audit",
        abstract:
            "Check what Kezek published: its draws (verify-draw) and its audit streams (replay).",
        subcommands: [VerifyDrawCommand.self, ReplayCommand.self])
}
