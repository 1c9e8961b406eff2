import Synchronization

/// Lets a BOOK at a sold-out provider answer `+FULL` without the provider's lock (DESIGN.md,
/// "Sold out without the lock"). It is a sequence lock over the provider's `MemberCounts`:
/// `version` is even only while the provider is sold out, Redis has every write it made, and
/// the counts hold exactly its members. Every change under the provider's lock first makes
/// `version` odd (`close`), and makes it even again (`open`) only when those three hold.
///
/// A reader trusts what it read only when `version` was the same even number before and
/// after: no change overlapped the read, so the answer is the state at that moment.
final class SoldOutGate: Sendable {
    private let version = Atomic<UInt>(1)
    /// Where the provider's `MemberCounts` are; changed only while `version` is odd.
    private let membersAddress = Atomic<UInt>(0)

    /// True when `holder` surely gets `+FULL` now: sold out, settled, and not a member.
    /// Takes no lock and writes nothing shared. (`whileLooking` lets a test change the state
    /// between the first version read and the look-up; it is empty, and inlined away, elsewhere.)
    @inline(__always)
    func refuses(_ holder: String, whileLooking: () -> Void = {}) -> Bool {
        let before = version.load(ordering: .acquiring)
        guard before & 1 == 0 else { return false }
        whileLooking()
        let absent = !MemberCounts(address: membersAddress.load(ordering: .relaxed)).mightContain(
            holder)
        atomicMemoryFence(ordering: .acquiring)
        return absent && version.load(ordering: .relaxed) == before
    }

    /// Called under the provider's lock before any change: readers stop trusting the counts.
    @inline(__always)
    func close() {
        let current = version.load(ordering: .relaxed)
        guard current & 1 == 0 else { return }
        version.store(current &+ 1, ordering: .relaxed)
        atomicMemoryFence(ordering: .releasing)
    }

    /// Called under the provider's lock after its changes, when it is sold out, Redis has
    /// every write, and `members` counts every member.
    func open(members: MemberCounts) {
        let current = version.load(ordering: .relaxed)
        guard current & 1 == 1 else { return }
        membersAddress.store(members.address, ordering: .relaxed)
        version.store(current &+ 1, ordering: .releasing)
    }

    /// Whether sold-out BOOKs are answered without the lock now (for tests).
    var isOpen: Bool { version.load(ordering: .acquiring) & 1 == 0 }
}
