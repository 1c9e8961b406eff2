/// One ranked choice of an application, as `APPLY` takes it: `<provider>` or
/// `<provider>/<level>`, level 1 to 9 (a priority claim at that provider; none is level 0).
public enum RankedChoice {
    public static let maxLevel = 9
    /// The most choices a round may allow (`ROUND OPEN … CHOICES k`, k at most 20).
    public static let maxChoices = 20
    /// Choices per applicant when `ROUND OPEN` does not say.
    public static let defaultChoices = 5

    /// Splits a choice token into its provider id and level, or nil when the level part is not
    /// one digit 1-9 or the provider part is empty. The provider id itself is checked by the caller.
    public static func split(_ token: Substring) -> (provider: Substring, level: Int)? {
        guard let slash = token.firstIndex(of: "/") else { return token.isEmpty ? nil : (token, 0) }
        let provider = token[..<slash]
        let level = token[token.index(after: slash)...]
        guard !provider.isEmpty, level.utf8.count == 1, let digit = level.utf8.first,
            digit >= UInt8(ascii: "1"), digit <= UInt8(ascii: "9")
        else { return nil }
        return (provider, Int(digit - UInt8(ascii: "0")))
    }

    /// The token again: `provider` at level 0, `provider/level` above (draw.csv's form).
    public static func token(provider: String, level: Int) -> String {
        level == 0 ? provider : "\(provider)/\(level)"
    }
}
