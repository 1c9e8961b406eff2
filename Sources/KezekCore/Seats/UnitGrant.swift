import Synchronization

/// The holder limit of one BOOK on redis-cluster, where the count lives at the holder's home
/// master (`HolderUnits`): with a unit granted there, the booking may take one new seat;
/// without, none (`reserve` refuses, and the BOOK answers `+LIMIT` until it has asked).
/// Whether the unit was used tells the caller to give it back.
final class UnitGrant: HolderLimits, @unchecked Sendable {
    private let granted: Bool
    private let used = Atomic<Bool>(false)

    init(granted: Bool) {
        self.granted = granted
        super.init(limit: 0)
    }

    /// None: a BOOK that would take a new seat is answered `+LIMIT` (it must ask first).
    static let none = UnitGrant(granted: false)

    var wasUsed: Bool { used.load(ordering: .acquiring) }

    override var isActive: Bool { true }

    override func reserve(_ holder: String) -> Bool {
        granted
            && used.compareExchange(
                expected: false, desired: true, ordering: .acquiringAndReleasing
            ).exchanged
    }

    override func isAtLimit(_ holder: String) -> Bool { !granted || wasUsed }
    override func release(_ holder: String) {}
    override func restore(_ holder: String) {}
    override func seats(of holder: String) -> Int { 0 }
}
