// What the nemeses of every topology share: each fault of the schedule started at its time on
// a thread of its own (so they overlap), and the counts of faults injected and skipped.
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

final class FaultPlayback: @unchecked Sendable {
    private let lock = NSLock()
    private var injected: [FaultClass: Int] = [:]
    private var skipped: [FaultClass: Int] = [:]
    private let group = DispatchGroup()

    var counts: (injected: [FaultClass: Int], skipped: [FaultClass: Int]) {
        lock.withLock { (injected, skipped) }
    }

    func countInjected(_ fault: FaultClass) { lock.withLock { injected[fault, default: 0] += 1 } }

    /// A fault whose precondition was not met when it came.
    func countSkipped(_ fault: FaultClass) { lock.withLock { skipped[fault, default: 0] += 1 } }

    /// Plays `schedule` from `start` (monotonic seconds): `inject` gets each fault and the run's
    /// time then; returns once every injection returned (every fault healed).
    func play(
        _ schedule: [ScheduledFault], from start: Double,
        inject: @escaping @Sendable (ScheduledFault, Double) -> Void
    ) {
        for fault in schedule {
            let wait = start + fault.at - monotonicNow()
            if wait > 0 { usleep(UInt32(wait * 1_000_000)) }
            group.enter()
            Thread.detachNewThread { [group] in
                inject(fault, monotonicNow() - start)
                group.leave()
            }
        }
        group.wait()
    }
}
