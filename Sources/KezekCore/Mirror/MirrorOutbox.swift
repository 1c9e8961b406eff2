import Synchronization

/// The writes waiting to be sent on one loop thread's Redis connection.
///
/// Every write of a provider goes to the outbox of the provider's owning thread, appended
/// while the provider's lock is held, so Redis sees a provider's changes in the order memory
/// made them, whichever thread made them. The owner drains it once per loop iteration.
public final class MirrorOutbox: Sendable {
    private let writes = Mutex<[MirrorWrite]>([])
    /// Providers whose refused count changed since the owner last mirrored it; each is here
    /// at most once (see `Provider.State.refusedQueued`), so the owner's tick visits only
    /// these, never the whole catalog.
    private let refusedChanged = Mutex<[Provider]>([])

    public init() {}

    /// Appends writes; call with the provider's lock held (see the type's comment).
    func append(_ batch: [MirrorWrite]) {
        writes.withLock { $0.append(contentsOf: batch) }
    }

    func append(_ write: MirrorWrite) {
        writes.withLock { $0.append(write) }
    }

    /// Two writes (a change and its audit entry) without building an array.
    func append(_ first: MirrorWrite, _ second: MirrorWrite) {
        writes.withLock { writes in
            writes.append(first)
            writes.append(second)
        }
    }

    /// A booking made without the provider's lock: its change and audit entry, numbered as
    /// they are queued, so a provider's write numbers follow its queue order whichever thread
    /// made them. Returns the change's number and the seats free after it in that order.
    func appendAdmission(_ change: MirrorWrite, _ entry: MirrorWrite, counters: AdmissionCounters) -> (number: Int, free: Int) {
        writes.withLock { writes in
            writes.append(change)
            writes.append(entry)
            let number = counters.made.add(2, ordering: .relaxed).newValue - 1
            return (number, counters.orderedFree.subtract(1, ordering: .relaxed).newValue)
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

    /// Swaps the queued writes out into `into` (which must be empty), keeping both capacities.
    public func drain(into: inout [MirrorWrite]) {
        writes.withLock { swap(&$0, &into) }
    }
}
