import ArgumentParser

/// `kezek-audit`: checks what Kezek published, from the published files alone.
@main
struct KezekAudit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kezek-audit",
        abstract: "Check Kezek's published draws.",
        subcommands: [VerifyDrawCommand.self])
}
