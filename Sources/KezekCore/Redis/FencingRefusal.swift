/// The error codes a fenced Lua script answers (`FencingScripts`, `HolderUnitScripts`), named
/// once: the scripts write them and the mirror and the holder units match them.
enum FencingRefusal: String, CaseIterable, Sendable {
    /// A newer writer took over: the epoch (or a shard's fence) is past the caller's.
    case fenced = "KZFENCED"
    /// Redis no longer holds what this writer had confirmed: the epoch key or a batch before.
    case lost = "KZLOST"

    /// The refusal an error reply starts with; nil for any other error.
    init?(errorReply text: String) {
        guard let refusal = Self.allCases.first(where: { text.hasPrefix($0.rawValue) }) else {
            return nil
        }
        self = refusal
    }
}
