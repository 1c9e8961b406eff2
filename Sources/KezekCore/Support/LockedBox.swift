import Synchronization

/// A `Mutex` in a class, so that several can live in an array (Mutex itself cannot be copied).
/// Values and results are Sendable, so the compiler checks what crosses the lock.
public final class LockedBox<Value: Sendable>: Sendable {
    private let mutex: Mutex<Value>
    public init(_ value: Value) { mutex = Mutex(value) }
    @inline(__always)
    public func withLock<Result: Sendable>(_ body: (inout Value) throws -> Result) rethrows
        -> Result
    {
        try mutex.withLock { value throws -> Result in try body(&value) }
    }
}
