import Foundation
import KezekTestSupport

/// Counts requests with a final answer and calls `onThreshold` each time the count crosses
/// one of `thresholds`, on a separate thread, one call at a time, in order. Counting
/// answers (not sends) means a threshold past a crash is only reached once the daemon
/// answers again, so every call lands while requests are in flight.
///
/// Unchecked Sendable: `thresholds` and `onThreshold` are set before the burst runs and only
/// read during it; the count sits behind a `Locked`.
final class SettledProgress: @unchecked Sendable {
    var thresholds: [Int] = []
    var onThreshold: ((Int) -> Void)?
    private let progress = Locked((settled: 0, nextThreshold: 0))
    private let actions = DispatchQueue(label: "kezek.burst.actions")
    private let actionsDone = DispatchGroup()

    func report(_ count: Int) {
        let crossed: [Int] = progress.withLock { progress in
            progress.settled += count
            var crossed: [Int] = []
            while progress.nextThreshold < thresholds.count
                && progress.settled >= thresholds[progress.nextThreshold]
            {
                crossed.append(thresholds[progress.nextThreshold])
                progress.nextThreshold += 1
            }
            return crossed
        }
        for threshold in crossed {
            actionsDone.enter()
            actions.async {
                self.onThreshold?(threshold)
                self.actionsDone.leave()
            }
        }
    }

    /// Waits (at most `timeout` seconds) for the calls already started.
    func waitForActions(timeout: Double) {
        _ = actionsDone.wait(timeout: .now() + timeout)
    }
}
