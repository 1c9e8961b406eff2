import Synchronization

/// One reply waiting for writes confirmed on several Redis connections: each part's ticket
/// arrives here, and the last arrival decides. `then` runs once, on the thread of the last
/// arrival, with whether any part failed; it returns true to deliver the reply now, false
/// when it takes over the delivery (the next step of a draw carries the same slot on).
public final class JointReply: Sendable {
    private let remaining: Atomic<Int>
    private let anyFailed = Atomic<Bool>(false)
    private let then: @Sendable (_ failed: Bool) -> Bool

    init(parts: Int, then: @escaping @Sendable (_ failed: Bool) -> Bool = { _ in true }) {
        let hasParts = parts > 0
        precondition(hasParts, "a joint reply has parts")
        remaining = Atomic(parts)
        self.then = then
    }

    /// One part is confirmed (or failed). Returns (deliver now, failed) for the last part,
    /// nil for the others.
    func arrive(failed: Bool) -> (deliver: Bool, failed: Bool)? {
        if failed { anyFailed.store(true, ordering: .releasing) }
        guard remaining.subtract(1, ordering: .acquiringAndReleasing).newValue == 0 else {
            return nil
        }
        let failed = anyFailed.load(ordering: .acquiring)
        return (then(failed), failed)
    }
}
