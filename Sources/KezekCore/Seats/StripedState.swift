import Glibc

enum HolderStripes {
    /// Stripes of holders per provider: enough that two or four threads booking one provider
    /// rarely meet on one lock; every `StripedState.withLock` pays this many lock operations.
    static let count = 8
}

/// A state kept behind `StripedState`.
protocol StripedStateValue {
    /// Called at the end of every `withLock`, every stripe still held: sets what the holders
    /// of a single stripe read from the state as it now is.
    func publish()
}

/// A provider's state behind a set of locks, one per stripe of its holders (DESIGN.md,
/// "Admission without the provider lock").
///
/// `withLock` takes every stripe, in order, and gives the whole state: it excludes everything
/// else, as one mutex would. `withStripe` takes one stripe only: two BOOKs whose holders fall
/// in different stripes run side by side, and neither can overlap a `withLock`. Whatever a
/// `withLock` leaves behind is therefore stable for as long as any one stripe is held.
final class StripedState<Value: StripedStateValue>: @unchecked Sendable {
    private static var stripeCount: Int { HolderStripes.count }
    /// One lock per cache line (or more, were a lock larger), so threads holding different
    /// stripes do not share a line.
    private static var lockStride: Int { CacheLine.whole(MemoryLayout<pthread_mutex_t>.size) }

    private let locks: UnsafeMutableRawPointer
    private let value: UnsafeMutablePointer<Value>

    init(_ initial: Value) {
        locks = UnsafeMutableRawPointer.allocate(
            byteCount: Self.stripeCount * Self.lockStride, alignment: CacheLine.bytes)
        for stripe in 0..<Self.stripeCount {
            let lock = (locks + stripe * Self.lockStride).bindMemory(
                to: pthread_mutex_t.self, capacity: 1)
            lock.initialize(to: pthread_mutex_t())
            pthread_mutex_init(lock, nil)
        }
        value = UnsafeMutablePointer<Value>.allocate(capacity: 1)
        value.initialize(to: initial)
    }

    deinit {
        value.deinitialize(count: 1)
        value.deallocate()
        for stripe in 0..<Self.stripeCount { pthread_mutex_destroy(lock(stripe)) }
        locks.deallocate()
    }

    @inline(__always)
    private func lock(_ stripe: Int) -> UnsafeMutablePointer<pthread_mutex_t> {
        (locks + stripe * Self.lockStride).assumingMemoryBound(to: pthread_mutex_t.self)
    }

    /// Runs `body` with every stripe held: the whole state, exclusively.
    func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        for stripe in 0..<Self.stripeCount { pthread_mutex_lock(lock(stripe)) }
        defer {
            value.pointee.publish()
            for stripe in (0..<Self.stripeCount).reversed() { pthread_mutex_unlock(lock(stripe)) }
        }
        return try body(&value.pointee)
    }

    /// Runs `body` with one stripe held. `body` may touch only that stripe's part of the
    /// state (through its own references) and read what only `withLock` changes.
    @inline(__always)
    func withStripe<Result>(_ stripe: Int, _ body: () throws -> Result) rethrows -> Result {
        pthread_mutex_lock(lock(stripe))
        defer { pthread_mutex_unlock(lock(stripe)) }
        return try body()
    }
}
