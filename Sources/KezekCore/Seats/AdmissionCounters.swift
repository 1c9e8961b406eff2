import Synchronization

/// The counters a BOOK reads and changes without the whole provider state (DESIGN.md,
/// "Admission without the provider lock").
///
/// `seats` pairs the seats free now with the writes numbered so far, so that one
/// compare-and-swap takes a seat and numbers the BOOK's writes: the order seats are taken is
/// the order Redis applies them, and a reply's free count is a state Redis passes through.
/// Every `StripedState.withLock` sets the free count and `admitsWithoutLock` afresh from the
/// state (`publish`) and numbers its own writes (`number`); no BOOK runs meanwhile.
final class AdmissionCounters: Sendable {
    /// A line between fields that different threads write, so that they never share one
    /// (the object's reference count, the seats, the owner's counts).
    private let padBeforeSeats = CacheLine.pad
    /// first: seats free now (capacity less holders less offers), as the bit pattern of an
    /// `Int`; second: writes numbered so far, with `closed` set while seats may not be taken
    /// without the whole state (one cache line is all a BOOK reads and writes here).
    private let seats = Atomic<WordPair>(WordPair(first: 0, second: AdmissionCounters.closed))
    private static let closed: UInt = 1 << 62
    private let padAfterSeats = CacheLine.pad
    /// Writes Redis confirmed (a provider's writes are confirmed in the order numbered). A
    /// reply that would reveal an unconfirmed change waits for it (no dirty reads).
    let confirmed = Atomic<Int>(0)
    /// Writes the owner's outbox has passed on to its mirror, in number order (owner only).
    let queued = Atomic<Int>(0)
    var free: Int { Int(bitPattern: seats.load(ordering: .relaxed).first) }
    var made: Int { Int(bitPattern: seats.load(ordering: .relaxed).second & ~Self.closed) }
    /// Seats may be taken without the whole state: no offers, nobody waiting, and no member
    /// counts (made when the provider first sells out; from then on its seats go through
    /// `withLock`, which keeps the counts of the lock-free sold-out answer right).
    var admitsWithoutLock: Bool { seats.load(ordering: .relaxed).second & Self.closed == 0 }

    /// Takes one free seat and numbers `writes` writes for it, in one step. Returns the first
    /// number and the seats left, or nil when none is free.
    @inline(__always)
    func takeSeat(numbering writes: Int) -> (firstNumber: Int, free: Int)? {
        var seen = seats.load(ordering: .relaxed)
        while Int(bitPattern: seen.first) > 0 && seen.second & Self.closed == 0 {
            let wanted = WordPair(first: seen.first &- 1, second: seen.second &+ UInt(writes))
            let (exchanged, original) = seats.compareExchange(
                expected: seen, desired: wanted, ordering: .relaxed)
            if exchanged {
                return (Int(bitPattern: seen.second) + 1, Int(bitPattern: wanted.first))
            }
            seen = original
        }
        return nil
    }

    /// Gives back a seat `takeSeat` took (the holder limit refused the booking); its numbers
    /// stay used (`MirrorOp.skipped` fills them).
    func giveBackSeat() {
        var seen = seats.load(ordering: .relaxed)
        while true {
            let wanted = WordPair(first: seen.first &+ 1, second: seen.second)
            let (exchanged, original) = seats.compareExchange(
                expected: seen, desired: wanted, ordering: .relaxed)
            if exchanged { return }
            seen = original
        }
    }

    /// Numbers `writes` writes made under `withLock` (every stripe held: nothing else changes
    /// the pair meanwhile). Returns the first number.
    func number(_ writes: Int) -> Int {
        let now = seats.load(ordering: .relaxed)
        seats.store(
            WordPair(first: now.first, second: now.second &+ UInt(writes)), ordering: .relaxed)
        return Int(bitPattern: now.second & ~Self.closed) + 1
    }

    /// The counters as the state left by a `withLock` says (every stripe held).
    func publish(free seatsFree: Int, admitsWithoutLock admits: Bool) {
        let now = seats.load(ordering: .relaxed)
        let numbered = now.second & ~Self.closed
        seats.store(
            WordPair(
                first: UInt(bitPattern: seatsFree),
                second: admits ? numbered : numbered | Self.closed), ordering: .relaxed)
    }
}
