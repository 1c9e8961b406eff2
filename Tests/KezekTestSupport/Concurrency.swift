import Foundation

/// Runs `body(0..<count)` on `count` threads at once and waits for all (at most `timeout`
/// seconds). Returns false if some did not finish in time.
@discardableResult
public func runConcurrently(
    _ count: Int, timeout: Double = 120, _ body: @escaping @Sendable (Int) -> Void
) -> Bool {
    let group = DispatchGroup()
    for index in 0..<count {
        group.enter()
        let thread = Thread {
            body(index)
            group.leave()
        }
        thread.stackSize = 1 << 20
        thread.start()
    }
    return group.wait(timeout: .now() + timeout) == .success
}

/// A lock-protected value shared by worker threads. Unchecked Sendable: every access to
/// `value` goes through `lock`.
public final class Locked<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value
    public init(_ value: Value) { self.value = value }
    public func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
    public var current: Value { withLock { $0 } }
    public func set(_ newValue: Value) { withLock { $0 = newValue } }
}
