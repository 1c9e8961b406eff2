import Foundation

/// Books many holders over several connections in pipelined chunks and retries every
/// request that got no reply, `-UNAVAILABLE` or `-LOADING` until each holder has a final
/// answer (`+BOOKED`, `+FULL`, or anything unexpected, which is recorded). Survives the
/// daemon going away: a broken connection is dropped, reconnected, and its unanswered
/// requests are sent again.
///
/// Unchecked Sendable: `thresholds` and `onThreshold` are set before `run` and only read
/// during it; everything the worker threads change sits behind a `Locked`.
final class BookingBurst: @unchecked Sendable {
    struct Outcome {
        /// Holders (indexes into `requests`) answered `+BOOKED`.
        var booked = Set<Int>()
        /// Holders answered `+FULL`.
        var full = Set<Int>()
        /// Replies that are neither a final answer nor a retryable error.
        var unexpected: [String] = []
        var unavailableReplies = 0
        var loadingReplies = 0
        var brokenConnections = 0
        /// `-MOVED` replies followed (ClusterBookingBurst).
        var movedReplies = 0
        /// Holders without a final answer when the deadline passed.
        var unsettled = Set<Int>()
    }

    let port: Int
    let requests: [(provider: String, holder: String)]
    let connections: Int
    let chunk: Int
    /// Called as holders get final answers (see `SettledProgress`).
    let progress = SettledProgress()
    var thresholds: [Int] {
        get { progress.thresholds }
        set { progress.thresholds = newValue }
    }
    var onThreshold: ((Int) -> Void)? {
        get { progress.onThreshold }
        set { progress.onThreshold = newValue }
    }

    private let state = Locked(Outcome())

    init(port: Int, requests: [(provider: String, holder: String)], connections: Int, chunk: Int) {
        self.port = port
        self.requests = requests
        self.connections = connections
        self.chunk = chunk
    }

    /// Runs the burst; gives up on whatever is unsettled after `timeout` seconds.
    func run(timeout: Double) -> Outcome {
        let deadline = monotonicNow() + timeout
        let finished = runConcurrently(connections, timeout: timeout + 30) { worker in
            self.work(worker, deadline: deadline)
        }
        progress.waitForActions(timeout: 60)
        var outcome = state.current
        if !finished { outcome.unexpected.append("workers did not finish") }
        return outcome
    }

    /// The outcome so far (for checks made while the burst runs).
    func snapshot() -> Outcome { state.current }

    private func work(_ worker: Int, deadline: Double) {
        var pending = Array(stride(from: worker, to: requests.count, by: connections))
        var head = 0
        var client: LineClient?
        var attempts = 0
        while head < pending.count && monotonicNow() < deadline && attempts < 100_000 {
            attempts += 1
            if client == nil {
                client = try? LineClient(port: port, timeout: 1)
                if client == nil { pause(0.02); continue }
            }
            let batch = Array(pending[head..<min(head + chunk, pending.count)])
            head += batch.count
            let text = batch.map { "BOOK \(requests[$0].provider) \(requests[$0].holder)\r\n" }.joined()
            do {
                try client!.send(text, timeout: 10)
            } catch {
                pending.append(contentsOf: batch)
                drop(&client)
                continue
            }
            var retry: [Int] = []
            var answered = 0
            do {
                for index in batch {
                    let reply = try client!.readLine(timeout: 15)
                    answered += 1
                    classify(index, reply, retry: &retry)
                }
            } catch {
                retry.append(contentsOf: batch[answered...])
                drop(&client)
            }
            let settled = batch.count - retry.count
            if settled > 0 { progress.report(settled) }
            if !retry.isEmpty {
                pending.append(contentsOf: retry)
                pause(0.05)
            }
            if head > 4096 { pending.removeFirst(head); head = 0 }
        }
        let left = Set(pending[head...])
        if !left.isEmpty { state.withLock { $0.unsettled.formUnion(left) } }
    }

    private func classify(_ index: Int, _ reply: String, retry: inout [Int]) {
        if reply.hasPrefix("+BOOKED ") {
            state.withLock { _ = $0.booked.insert(index) }
        } else if reply == "+FULL \(requests[index].provider)" {
            state.withLock { _ = $0.full.insert(index) }
        } else if reply.hasPrefix("-UNAVAILABLE") {
            state.withLock { $0.unavailableReplies += 1 }
            retry.append(index)
        } else if reply.hasPrefix("-LOADING") {
            state.withLock { $0.loadingReplies += 1 }
            retry.append(index)
        } else {
            state.withLock { $0.unexpected.append("BOOK \(requests[index].provider) \(requests[index].holder): \(reply)") }
        }
    }

    private func drop(_ client: inout LineClient?) {
        client?.close()
        client = nil
        state.withLock { $0.brokenConnections += 1 }
        pause(0.02)
    }
}
