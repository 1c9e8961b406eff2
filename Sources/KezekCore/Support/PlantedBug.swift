/// Bugs planted on purpose, to show that the nemesis's checker catches what it must
/// (docs/RELIABILITY.md). None is active unless the environment names one in
/// `KEZEK_PLANTED_BUG` and also sets `KEZEK_PLANTED_BUG_CONSENT` to `consentPhrase`; no flag or
/// configuration key reaches it, and kezekd refuses to start on any other value.
public enum PlantedBug: String, Sendable, CaseIterable {
    /// Replies leave before Redis confirmed the writes they announce.
    case ackBeforeRedis = "ack-before-redis"
    /// The batch script applies a batch whatever the epoch and sequence in Redis (no fencing).
    case skipFence = "skip-fence"
    /// STATUS and SEATS answer from memory while writes they reveal are unconfirmed.
    case dirtyReads = "dirty-reads"

    public static let consentPhrase = "this-daemon-breaks-its-contract"

    /// Set once at start, before any thread reads it.
    nonisolated(unsafe) public static var active: PlantedBug?

    /// The bug the environment asks for, nil for none; throws for anything not allowed.
    public static func from(environment: [String: String]) throws -> PlantedBug? {
        guard let name = environment["KEZEK_PLANTED_BUG"] else { return nil }
        guard let bug = PlantedBug(rawValue: name) else {
            throw PlantedBugRefused(description: "KEZEK_PLANTED_BUG '\(name)' is not a planted bug")
        }
        guard environment["KEZEK_PLANTED_BUG_CONSENT"] == consentPhrase else {
            throw PlantedBugRefused(
                description:
                    "KEZEK_PLANTED_BUG breaks the contract on purpose (tests only): "
                    + "refused without KEZEK_PLANTED_BUG_CONSENT"
            )
        }
        return bug
    }
}

public struct PlantedBugRefused: Error, CustomStringConvertible {
    public let description: String
}
