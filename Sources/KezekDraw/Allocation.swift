/// The outcome of a draw: where each applicant was placed, and the waitlists it implies.
public struct Allocation: Sendable {
    public let book: ApplicationBook
    /// Position of each applicant in the lottery order (0 = best), -1 when it took no part.
    public let lotteryRank: [Int32]
    /// Index of the placed choice within the applicant's choices (rank - 1), -1 when unplaced.
    public let placement: [Int8]
    /// Work done: proposals made, and tentative admits displaced by a better claim.
    public let proposals: Int
    public let displaced: Int

    /// The provider index the applicant was placed at, or nil.
    public func provider(of applicant: Int) -> Int? {
        let r = Int(placement[applicant])
        return r < 0 ? nil : Int(book.provider[book.choices(of: applicant).lowerBound + r])
    }

    /// 1-based rank of the placed choice, or nil.
    public func rank(of applicant: Int) -> Int? {
        placement[applicant] < 0 ? nil : Int(placement[applicant]) + 1
    }

    public var placedCount: Int { placement.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

    /// Per provider, the applicants waiting there in its order (higher level, then lottery):
    /// an applicant waits at every choice ranked above its placement, at all when unplaced.
    public func waitlists(providers: Int) -> [[Int32]] {
        var keyed = [[(key: UInt64, applicant: Int32)]](repeating: [], count: providers)
        for a in 0..<book.count where lotteryRank[a] >= 0 {
            let choices = book.choices(of: a)
            let above = placement[a] < 0 ? choices.count : Int(placement[a])
            for r in choices.lowerBound..<choices.lowerBound + above {
                let key = PriorityKey.make(level: book.level[r], lotteryRank: lotteryRank[a])
                keyed[Int(book.provider[r])].append((key, Int32(a)))
            }
        }
        return keyed.map { $0.sorted { $0.key < $1.key }.map(\.applicant) }
    }
}
