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
        private let padding = CacheLine.pad
    }

    private let lanes: [Lane] = (0..<laneCount).map { _ in Lane() }
    /// The owner's side of the drain (only the owner drains, so this lock is never contended).
    private let owner = Mutex(OwnerSide())
    /// Providers whose refused count changed since the owner last mirrored it; each is here
    /// at most once (see `Provider.State.refusedQueued`), so the owner's tick visits only
    /// these, never the whole catalog.
    private let refusedChanged = Mutex<[Provider]>([])

    private struct OwnerSide {
        /// Each lane's writes not passed on yet, oldest first. One thread's writes of a
        /// provider are in number order within its lane.
        var pending: [[MirrorWrite]] = Array(repeating: [], count: MirrorOutbox.laneCount)
        /// How far each lane's writes went on in this drain.
        var passed: [Int] = Array(repeating: 0, count: MirrorOutbox.laneCount)
    }

    public init() {}

    @inline(__always)
    private var lane: Lane { lanes[Int(kz_thread_stripe())] }

    func append(_ batch: consuming [MirrorWrite]) {
        var batch = batch
        lane.writes.withLock { writes in
            // An empty lane takes the array whole.
            if writes.isEmpty {
                swap(&writes, &batch)
            } else {
                writes.moveAppend(from: &batch, batch.indices)
            }
        }
    }

    /// One write, moved in: `write` is left a blank (see `moveAppend`).
    func append(moving write: inout MirrorWrite) {
        lane.writes.withLock { $0.moveAppend(&write) }
    }

    /// Two writes (a change and its audit entry) without building an array, moved in: a copy
    /// would retain every string a write holds and the caller's release would follow (8% of
    /// kezekd's CPU per BOOK at -P 16). Both are left blanks.
    func append(moving first: inout MirrorWrite, _ second: inout MirrorWrite) {
        lane.writes.withLock { writes in
            writes.moveAppend(&first)
            writes.moveAppend(&second)
        }
    }

    /// A booking and its audit entry, made in the lane itself: two blank writes (nothing to
    /// retain) are appended and then given their ops and ticket in place. A write made first
    /// and appended after is copied and the original destroyed (each retain of its strings
    /// paired with a release), as is one passed by value.
    func appendBooking(
        _ provider: Provider, holder: String, ticket: ReplyTicket?, number: Int, madeAt: UInt64
    ) {
        lane.writes.withLock { writes in
            let at = writes.count
            writes.append(
                MirrorWrite(
                    provider: provider, op: .barrier, ticket: nil, madeAt: madeAt, number: number,
                    continues: true))
            writes.append(
                MirrorWrite(
                    provider: provider, op: .barrier, ticket: nil, madeAt: madeAt,
                    number: number + 1))
            writes.withUnsafeMutableBufferPointer { made in
                made[at].op = .book(holder: holder)
                made[at + 1].op = .audit(.book, holder: holder, cause: nil)
                made[at + 1].ticket = ticket
            }
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
    ///
    /// Lanes are passed over in turns: each lane goes on as far as its writes may (a write
    /// may when it is the next of its provider), until a turn moves nothing. Two threads
    /// booking one provider alternate its numbers between their lanes, so a turn moves a run
    /// from each; what is left waits, in its lane, for the next drain (a thread has numbered
    /// a write it has not appended yet).
    public func drain(into: inout [MirrorWrite]) {
        owner.withLock { side in
            for lane in 0..<Self.laneCount {
                lanes[lane].writes.withLock { writes in
                    if side.pending[lane].isEmpty {
                        swap(&writes, &side.pending[lane])
                    } else {
                        side.pending[lane].moveAppend(from: &writes, writes.indices)
                        writes.removeAll(keepingCapacity: true)
                    }
                }
                side.passed[lane] = 0
            }
            var moved = true
            while moved {
                moved = false
                for lane in 0..<Self.laneCount where side.passed[lane] < side.pending[lane].count {
                    let from = side.passed[lane]
                    var to = from
                    while to < side.pending[lane].count && Self.passOn(side.pending[lane], to) {
                        to += 1
                    }
                    guard to > from else { continue }
                    moved = true
                    if from == 0 && to == side.pending[lane].count && into.isEmpty {
                        // The usual case, one lane all in order: hand the array over.
                        swap(&into, &side.pending[lane])
                        side.passed[lane] = 0
                    } else {
                        into.moveAppend(from: &side.pending[lane], from..<to)
                        side.passed[lane] = to
                    }
                }
            }
            for lane in 0..<Self.laneCount where side.passed[lane] > 0 {
                side.pending[lane].removeFirst(side.passed[lane])
            }
            if side.pending.contains(where: { !$0.isEmpty }) {
                Self.passOnSorted(&side.pending, into: &into)
            }
        }
    }

    /// What the turns left: a lane blocked at its head (two threads sharing a lane can append
    /// a provider's writes out of order; or the next write is not appended yet). Sorted by
    /// provider and number (a barrier right after the write it follows), one pass moves every
    /// run without a gap; the rest waits in lane 0's place. The order between providers does
    /// not matter, and a request's writes, numbered together, stay together.
    private static func passOnSorted(_ pending: inout [[MirrorWrite]], into: inout [MirrorWrite]) {
        var rest: [MirrorWrite] = []
        for lane in pending.indices {
            rest.append(contentsOf: pending[lane])
            pending[lane].removeAll(keepingCapacity: true)
        }
        rest.sort { a, b in
            let (left, right) = (ObjectIdentifier(a.provider), ObjectIdentifier(b.provider))
            return left != right ? left < right : orderKey(a) < orderKey(b)
        }
        for index in rest.indices {
            if passOn(rest, index) {
                into.append(rest[index])
            } else {
                pending[0].append(rest[index])
            }
        }
    }

    private static func orderKey(_ write: MirrorWrite) -> Int {
        write.isBarrier ? 2 * write.number + 1 : 2 * write.number
    }

    /// Writes are held back whose provider's earlier write is not here yet (the owner only).
    var isHoldingWrites: Bool { owner.withLock { side in side.pending.contains { !$0.isEmpty } } }

    /// Whether `writes[index]` may go now, counting it as passed on if it is the next of its
    /// provider. It reads the write in place: a write passed by value is copied (its strings
    /// retained, then released), once per write per drain.
    @inline(__always)
    private static func passOn(_ writes: [MirrorWrite], _ index: Int) -> Bool {
        let number = writes[index].number
        guard number != 0 else { return true }
        let counters = writes[index].provider.admission
        let queued = counters.queued.load(ordering: .relaxed)
        if writes[index].isBarrier { return number <= queued }
        guard number == queued + 1 else { return number <= queued }
        counters.queued.store(number, ordering: .relaxed)
        return true
    }
}
