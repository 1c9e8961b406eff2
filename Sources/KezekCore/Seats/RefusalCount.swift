import CKezekShims
import Synchronization

/// How many BOOKs a provider answered `+FULL` (its unmet demand).
///
/// Refusals made under the provider's lock add to one atomic. Refusals made without it
/// (`SoldOutGate`) add to one of 8 counters, each on a cache line of its own, one per thread
/// (handed out round robin, `kz_thread_stripe`): threads refusing at one hot provider would otherwise pass one cache line between
/// them on every answer, and that costs more than the lock it replaces. The stripes are made
/// (under the lock) before the gate first opens, and freed with the count.
///
/// Every add and every read of the total is sequentially consistent, for the owner's tick
/// (`Provider.refusedWriteIfChanged`): either its read of the total sees an add, or the adder's
/// read of the "queued" flag sees the tick clear it.
final class RefusalCount: Sendable {
    private static let stripeCount = Int(KZ_THREAD_STRIPES)
    private static let lineBytes = CacheLine.bytes
    private let locked = Atomic<Int>(0)
    /// The stripes' allocation; set once, before the gate first opens.
    private let stripesAddress = Atomic<UInt>(0)

    deinit {
        if let stripes = UnsafeMutableRawPointer(
            bitPattern: stripesAddress.load(ordering: .relaxed))
        {
            stripes.deallocate()
        }
    }

    /// Makes the stripes if there are none (under the provider's lock).
    func makeStripes() {
        guard stripesAddress.load(ordering: .relaxed) == 0 else { return }
        let bytes = Self.stripeCount * Self.lineBytes
        let stripes = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: Self.lineBytes)
        stripes.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        stripesAddress.store(UInt(bitPattern: stripes), ordering: .releasing)
    }

    /// A refusal made under the provider's lock.
    func addLocked() {
        locked.add(1, ordering: .sequentiallyConsistent)
    }

    /// A refusal made without the lock: only after the gate opened, so the stripes exist.
    @inline(__always)
    func addUnlocked() {
        let stripes = stripesAddress.load(ordering: .relaxed)
        let stripe = Int(kz_thread_stripe())
        kz_word_add_seq_cst(
            UnsafeMutablePointer<UInt64>(bitPattern: stripes + UInt(stripe * Self.lineBytes)), 1)
    }

    /// Every refusal so far.
    var total: Int { locked.load(ordering: .sequentiallyConsistent) + striped }

    /// Sets the total (recovery: what Redis had).
    func set(_ total: Int) {
        locked.store(total - striped, ordering: .sequentiallyConsistent)
    }

    private var striped: Int {
        guard
            let stripes = UnsafeMutableRawPointer(
                bitPattern: stripesAddress.load(ordering: .acquiring))
        else { return 0 }
        var sum: UInt64 = 0
        for stripe in 0..<Self.stripeCount {
            sum &+= kz_word_load_seq_cst(
                (stripes + stripe * Self.lineBytes).assumingMemoryBound(to: UInt64.self))
        }
        return Int(truncatingIfNeeded: sum)
    }
}
