import Synchronization

/// Every thread's metrics.
public final class ServerMetrics: Sendable {
    public let threads: [ThreadMetrics]
    /// Times the whole state was written back after Redis lost data.
    public let repairs = Atomic<Int>(0)
    /// Batches Redis refused with an error reply (out of memory, read-only, fenced…).
    public let refusedBatches = Atomic<Int>(0)
    public init(threads: Int) {
        self.threads = (0..<threads).map { _ in ThreadMetrics() }
    }
}
