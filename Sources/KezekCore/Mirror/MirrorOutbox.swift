import CKezekShims
import Synchronization

/// The writes waiting to be sent on one loop thread's Redis connection.
///
/// Every write of a provider goes to the outbox of the provider's owning thread. Each thread
/// that makes writes appends to a lane of its own (`kz_thread_stripe`), so threads booking at
/// one provider do not queue behind one lock. Each write carries its place in its provider's
/// order (`MirrorWrite.number`); the owner drains every lane once per loop iteration and passes
/// a provider's writes on in that order, holding back a write whose predecessor another
/// thread has numbered but not appended yet. So Redis sees a provider's changes in the order
/// memory made them, whichever threads made them.
public final class MirrorOutbox: Sendable {
    private static let laneCount = Int(KZ_THREAD_STRIPES)

    /// One lane; padded so that two lanes never share a cache line.
    private final class Lane: Sendable {
        let writes = Mutex<[MirrorWrite]>([])
        private let padding: (Int, Int, Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0, 0, 0)
    }

    private let lanes: [Lane] = (0..<laneCount).map { _ in Lane() }
    /// The owner's side of the drain (only the owner drains, so this lock is never contended).
    private let owner = Mutex(OwnerSide())
    /// Providers whose refused count changed since the owner last mirrored it; each is here
    /// at most once (see `Provider.State.refusedQueued`), so the owner's tick visits only
    /// these, never the whole catalog.
    private let refusedChanged = Mutex<[Provider]>([])

    private struct OwnerSide {
        /// A lane's writes, swapped out.
        var incoming: [MirrorWrite] = []
        /// Writes waiting for an earlier write of their provider, in the order drained.
        var held: [MirrorWrite] = []
    }

    public init() {}

    @inline(__always)
    private var lane: Lane { lanes[Int(kz_thread_stripe())] }

    func append(_ batch: [MirrorWrite]) {
        lane.writes.withLock { $0.append(contentsOf: batch) }
    }

    func append(_ write: MirrorWrite) {
        lane.writes.withLock { $0.append(write) }
    }

    /// Two writes (a change and its audit entry) without building an array.
    func append(_ first: MirrorWrite, _ second: MirrorWrite) {
        lane.writes.withLock { writes in
            writes.append(first)
            writes.append(second)
        }
    }

    func noteRefusedChanged(_ provider: Provider) {
        refusedChanged.withLock { $0.append(provider) }
    }

    func drainRefusedChanged() -> [Provider] {
        refusedChanged.withLock { providers in
            defer { providers.removeAll() }
            return providers
        }
    }

    /// Moves the writes that may go now into `into` (which must be empty), each provider's in
    /// number order. Call from the owner only.
    public func drain(into: inout [MirrorWrite]) {
        owner.withLock { side in
            for lane in lanes {
                lane.writes.withLock { swap(&$0, &side.incoming) }
                guard !side.incoming.isEmpty else { continue }
                // Writes in order pass on at once; from the first that cannot, each is held
                // or passed on by itself.
                var firstHeld = side.incoming.startIndex
                if side.held.isEmpty {
                    firstHeld = side.incoming.endIndex
                    for index in side.incoming.indices where !Self.passOn(side.incoming[index]) {
                        firstHeld = index
                        break
                    }
                    if firstHeld == side.incoming.endIndex && into.isEmpty {
                        // The usual case: hand the array over instead of copying it.
                        swap(&into, &side.incoming)
                        continue
                    }
                    into.append(contentsOf: side.incoming[..<firstHeld])
                }
                for write in side.incoming[firstHeld...] {
                    if Self.passOn(write) {
                        into.append(write)
                    } else {
                        side.held.append(write)
                    }
                }
                side.incoming.removeAll(keepingCapacity: true)
            }
            releaseHeld(&side.held, into: &into)
        }
    }

    /// Writes are held back whose provider's earlier write is not here yet (the owner only).
    var isHoldingWrites: Bool { owner.withLock { !$0.held.isEmpty } }

    /// Passes on the held writes that may go now. Sorted by provider and number (a barrier
    /// after the write it follows), one pass passes on every run without a gap; the order
    /// between providers does not matter, and a request's writes, numbered together, stay
    /// together.
    private func releaseHeld(_ held: inout [MirrorWrite], into: inout [MirrorWrite]) {
        guard !held.isEmpty else { return }
        held.sort { a, b in
            let (left, right) = (ObjectIdentifier(a.provider), ObjectIdentifier(b.provider))
            return left != right ? left < right : Self.orderKey(a) < Self.orderKey(b)
        }
        var kept: [MirrorWrite] = []
        for write in held {
            if Self.passOn(write) {
                into.append(write)
            } else {
                kept.append(write)
            }
        }
        held = kept
    }

    private static func orderKey(_ write: MirrorWrite) -> Int {
        if case .barrier = write.op { return 2 * write.number + 1 }
        return 2 * write.number
    }

    /// Whether `write` may go now, counting it as passed on if it is the next of its provider.
    @inline(__always)
    private static func passOn(_ write: MirrorWrite) -> Bool {
        guard write.number != 0 else { return true }
        let counters = write.provider.admission
        let queued = counters.queued.load(ordering: .relaxed)
        if case .barrier = write.op { return write.number <= queued }
        guard write.number == queued + 1 else { return write.number <= queued }
        counters.queued.store(write.number, ordering: .relaxed)
        return true
    }
}
