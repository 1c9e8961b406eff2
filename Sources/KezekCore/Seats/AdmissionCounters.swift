import Synchronization

/// The counters a BOOK reads and changes without the provider-wide lock (DESIGN.md,
/// "Admission without the provider lock"). Every `StripedState.withLock` that may have changed
/// the state sets `free`, `orderedFree` and `admitsWithoutLock` afresh from it (`publish`).
final class AdmissionCounters: Sendable {
    /// Seats free now. A BOOK takes one by compare-and-swap, never below zero, while holding
    /// its holder's stripe (which it then inserts, or gives the seat back).
    let free = Atomic<Int>(0)
    /// Seats free after the writes numbered so far (the order Redis applies them): what a BOOK
    /// taken without the lock answers, so its reply reveals only writes Redis has once its own
    /// is confirmed. Changed with `made`, under the owner outbox's lock.
    let orderedFree = Atomic<Int>(0)
    /// Writes handed to the mirror so far, and how many of them Redis confirmed (a provider's
    /// writes are confirmed in the order numbered). A reply that would reveal an unconfirmed
    /// change waits for it (no dirty reads).
    let made = Atomic<Int>(0)
    let confirmed = Atomic<Int>(0)
    /// Seats may be taken without the lock: no offers, nobody waiting, and no member counts
    /// (made when the provider first sells out; from then on its seats go through the lock,
    /// which keeps the counts of the lock-free sold-out answer).
    let admitsWithoutLock = Atomic<Bool>(false)

    /// Takes one free seat; false when none is free.
    @inline(__always)
    func takeSeat() -> Bool {
        var seen = free.load(ordering: .relaxed)
        while seen > 0 {
            let (exchanged, original) = free.compareExchange(expected: seen, desired: seen - 1, ordering: .relaxed)
            if exchanged { return true }
            seen = original
        }
        return false
    }

    /// Gives back a seat `takeSeat` took (the holder limit refused the booking).
    func giveBackSeat() {
        free.add(1, ordering: .relaxed)
    }

    /// The counters as the state left by a `withLock` says (every stripe held).
    func publish(free seats: Int, admitsWithoutLock admits: Bool) {
        free.store(seats, ordering: .relaxed)
        orderedFree.store(seats, ordering: .relaxed)
        admitsWithoutLock.store(admits, ordering: .relaxed)
    }
}
