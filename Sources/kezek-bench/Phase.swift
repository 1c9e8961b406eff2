// What one phase of a run is (a batch of requests and how to send it) and what came of it.
import Histogram

/// Connection-level settings shared by every phase of a run.
struct LoadEnvironment {
    var target: TargetAddress
    var connections: Int
    var threads: Int
    var auth: String?
    /// Hard bound on any one phase, seconds (sending and draining).
    var timeLimit: Double
    var progress: ProgressBar
}

final class PhasePlan {
    let name: String
    let batch: RequestBatch
    /// Requests to send; the batch is cycled through when this exceeds its size.
    let total: Int
    /// Requests in flight per connection; 0 = no bound (send everything at once).
    let pipeline: Int
    /// Open loop: requests per second over all connections, on a fixed schedule.
    let rate: Double?
    /// Stop sending after this many seconds (then wait for replies in flight).
    let duration: Double?
    /// Per-request outcome, indexed like the batch (nil: only counts and latency).
    let results: PhaseResults?

    init(
        name: String, batch: RequestBatch, total: Int? = nil, pipeline: Int, rate: Double? = nil,
        duration: Double? = nil, results: PhaseResults? = nil
    ) {
        self.name = name
        self.batch = batch
        self.total = total ?? batch.count
        self.pipeline = pipeline
        self.rate = rate
        self.duration = duration
        self.results = results
    }
}

/// The last reply to each request of a batch. Workers write disjoint index ranges, so plain
/// memory without locks is enough.
final class PhaseResults {
    let count: Int
    let kinds: UnsafeMutablePointer<ObservedReply>
    let values: UnsafeMutablePointer<Int64>
    /// Full reply text per request, kept only when asked (invariant checks).
    let lines: UnsafeMutablePointer<String?>?

    init(count: Int, keepLines: Bool = false) {
        self.count = count
        kinds = .allocate(capacity: max(1, count))
        kinds.initialize(repeating: .none, count: max(1, count))
        values = .allocate(capacity: max(1, count))
        values.initialize(repeating: -1, count: max(1, count))
        if keepLines {
            let l = UnsafeMutablePointer<String?>.allocate(capacity: max(1, count))
            l.initialize(repeating: nil, count: max(1, count))
            lines = l
        } else {
            lines = nil
        }
    }

    subscript(i: Int) -> (kind: ObservedReply, value: Int64) { (kinds[i], values[i]) }

    func line(_ i: Int) -> String {
        if let l = lines?[i] { return l }
        return kinds[i] == .none ? "(no reply)" : "+\(kinds[i].label)"
    }

    deinit {
        kinds.deallocate()
        values.deallocate()
        if let lines {
            lines.deinitialize(count: max(1, count))
            lines.deallocate()
        }
    }
}

/// Counters one worker keeps while a phase runs; merged when it ends.
final class PhaseStats {
    var counts = ReplyCounts()
    var histogram = Histogram<UInt64>(
        lowestDiscernibleValue: 1, highestTrackableValue: 3_600_000_000,
        numberOfSignificantValueDigits: .three)
    var sent = 0
    var replies = 0
    /// Requests sent whose reply never came (connection lost, time limit).
    var lost = 0
    var unsolicited = 0
    var problems: [String: Int] = [:]
    /// The first error reply seen for each error code, in full.
    var errorSamples: [String: String] = [:]
    var firstSendNs: UInt64 = .max
    var lastReplyNs: UInt64 = 0
    var timedOut = false

    func note(_ problem: String) { problems[problem, default: 0] += 1 }

    func merge(_ o: PhaseStats) {
        counts.merge(o.counts)
        histogram.add(o.histogram)
        sent += o.sent
        replies += o.replies
        lost += o.lost
        unsolicited += o.unsolicited
        for (k, v) in o.problems { problems[k, default: 0] += v }
        for (k, v) in o.errorSamples where errorSamples[k] == nil { errorSamples[k] = v }
        firstSendNs = min(firstSendNs, o.firstSendNs)
        lastReplyNs = max(lastReplyNs, o.lastReplyNs)
        timedOut = timedOut || o.timedOut
    }
}

/// The merged result of one phase.
struct PhaseOutcome {
    let name: String
    let stats: PhaseStats
    let connectionsOpened: Int
    let connectionsWanted: Int

    /// From the first request sent to the last reply received, seconds.
    var wallSeconds: Double {
        guard stats.lastReplyNs > stats.firstSendNs, stats.firstSendNs != .max else { return 0 }
        return Double(stats.lastReplyNs - stats.firstSendNs) / 1e9
    }

    var counts: ReplyCounts { stats.counts }
    var histogram: Histogram<UInt64> { stats.histogram }

    /// Replies per second over the wall time.
    var throughput: Double { wallSeconds > 0 ? Double(stats.replies) / wallSeconds : 0 }

    /// +BOOKED replies per second over the wall time.
    var bookingsPerSecond: Double { wallSeconds > 0 ? Double(counts[.booked]) / wallSeconds : 0 }

    /// Everything sent got a definite reply, no connection failed.
    var complete: Bool {
        stats.lost == 0 && !stats.timedOut && connectionsOpened == connectionsWanted
            && stats.unsolicited == 0
            && stats.replies == stats.sent
    }
}
