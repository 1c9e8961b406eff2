/// Every application of a round in flat arrays (no array per applicant: a city's million
/// applications are a handful of allocations). Applicant `a`'s choices, in rank order, are
/// `provider[r]` and `level[r]` for `r` in `choices(of: a)`; providers are dense indices.
public struct ApplicationBook: Sendable {
    public private(set) var start: [Int32] = [0]
    public private(set) var provider: [Int32] = []
    public private(set) var level: [UInt8] = []

    public init() {}

    public var count: Int { start.count - 1 }

    public mutating func reserve(applicants: Int, choices: Int) {
        start.reserveCapacity(applicants + 1)
        provider.reserveCapacity(choices)
        level.reserveCapacity(choices)
    }

    /// Adds one applicant with its choices, first = most wanted. Returns its index.
    @discardableResult
    public mutating func append(_ choices: some Sequence<(provider: Int, level: Int)>) -> Int {
        for choice in choices {
            let levelInRange = choice.level >= 0 && choice.level <= RankedChoice.maxLevel
            precondition(levelInRange, "level out of range")
            provider.append(Int32(choice.provider))
            level.append(UInt8(choice.level))
        }
        let withinChoices = provider.count - Int(start[start.count - 1]) <= RankedChoice.maxChoices
        precondition(withinChoices, "too many choices")
        start.append(Int32(provider.count))
        return count - 1
    }

    public func choices(of applicant: Int) -> Range<Int> {
        Int(start[applicant])..<Int(start[applicant + 1])
    }
}
