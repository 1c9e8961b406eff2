import Synchronization

/// A counter written by one thread only and read by anyone: a relaxed load and store, no
/// locked instruction on the booking path. Readers may see a value a moment old.
public final class Counter: Sendable {
    private let value = Atomic<Int>(0)
    public init() {}
    @inline(__always) public func add(_ amount: Int = 1) {
        value.store(value.load(ordering: .relaxed) &+ amount, ordering: .relaxed)
    }
    public func load() -> Int { value.load(ordering: .relaxed) }
    /// For gauges: replaces the value.
    @inline(__always) public func set(_ newValue: Int) { value.store(newValue, ordering: .relaxed) }
}
