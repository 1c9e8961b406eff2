import Synchronization

/// An `Atomic<Bool>` in a class, for arrays of flags.
public final class AtomicFlag: Sendable {
    private let value: Atomic<Bool>
    public init(_ initial: Bool) { value = Atomic(initial) }
    /// Reads with acquire ordering.
    public var isSet: Bool { value.load(ordering: .acquiring) }
    /// Writes with release ordering.
    public func set(_ newValue: Bool) { value.store(newValue, ordering: .releasing) }
}
