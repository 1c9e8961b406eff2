/// The order of a round's applicants by lottery number, best (smallest) first.
public enum LotteryOrder {
    /// Indices into `holders`, sorted by `LotteryNumber(seed:holder:)`. Holder ids are unique in
    /// a round, so two equal numbers would be a SHA-256 collision; the holder id breaks that
    /// tie anyway so that the order is total.
    public static func order(seed: String, holders: [String]) -> [Int32] {
        let hasher = SHA256()
        let numbers = holders.map { LotteryNumber(seed: seed, holder: $0, using: hasher) }
        return (0..<Int32(holders.count)).sorted {
            let a = numbers[Int($0)], b = numbers[Int($1)]
            return a != b
                ? a < b : holders[Int($0)].utf8.lexicographicallyPrecedes(holders[Int($1)].utf8)
        }
    }
}
