import KezekDraw

/// The round that placed or queued a holder at a provider, and the rank of that provider
/// among the holder's choices (1 = first). Kept in `<prefix>:{P}:rounds` as "<round> <rank>".
public struct RoundTag: Equatable, Sendable {
    public let round: String
    public let rank: Int

    static func encode(round: String, rank: Int) -> String { "\(round) \(rank)" }

    /// Nil when the text is not "<id> <rank>" with a rank from 1 to the most choices.
    static func decode(_ text: String) -> RoundTag? {
        let parts = text.split(separator: " ", omittingEmptySubsequences: false)
        guard parts.count == 2, Identifier.isValid(String(parts[0])), let rank = Int(parts[1]),
            rank >= 1, rank <= RankedChoice.maxChoices
        else { return nil }
        return RoundTag(round: String(parts[0]), rank: rank)
    }
}

/// An offer of a seat, open until `expiresAt` (Unix milliseconds, so that it survives restarts).
struct Offer {
    var expiresAt: Int

    /// Whole seconds left, rounded up (0 once expired).
    func secondsLeft(now: Int) -> Int { max(0, (expiresAt - now + 999) / 1000) }
}
