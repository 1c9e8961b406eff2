import Foundation
import KezekTestSupport

/// Books many holders over several connections in pipelined chunks and retries every
/// request that got no reply, `-UNAVAILABLE` or `-LOADING` until each holder has a final
/// answer (`+BOOKED`, `+FULL`, `+LIMIT`, or anything unexpected, which is recorded). Survives the
/// daemon going away: a broken connection is dropped, reconnected, and its unanswered
/// requests are sent again.
///
/// Against kezekd nodes on Redis Cluster (`init(nodePorts:…)`) it books as a cluster-aware
/// gateway does: each request goes to the node that serves its provider's hash slot, learnt
/// from `-MOVED` replies (none known yet: any node); a node that does not answer is forgotten
/// for the slots it served, so the next try goes to another node, which answers or sends it on.
///
/// Unchecked Sendable: configured before `run`; what the workers share sits behind `Locked`.
final class BookingBurst: @unchecked Sendable {
    struct Outcome {
        /// Holders (indexes into `requests`) answered `+BOOKED`.
        var booked = Set<Int>()
        /// Holders answered `+FULL`.
        var full = Set<Int>()
        /// Holders answered `+LIMIT` (holder-limit).
        var limited = Set<Int>()
        /// Replies that are neither a final answer nor a retryable error.
        var unexpected: [String] = []
        var unavailableReplies = 0
        var loadingReplies = 0
        var brokenConnections = 0
        /// `-MOVED` replies followed.
        var movedReplies = 0
        /// Holders without a final answer when the deadline passed.
        var unsettled = Set<Int>()
    }

    let nodePorts: [Int]
    let requests: [(provider: String, holder: String)]
    /// Every provider's hash slot (`CLUSTER KEYSLOT`), on Redis Cluster; empty for one daemon.
    let slots: [String: Int]
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
    /// Hash slot -> port of the node that last said it serves it.
    private let routes = Locked([Int: Int]())

    /// One daemon at `port`.
    convenience init(
        port: Int, requests: [(provider: String, holder: String)], connections: Int, chunk: Int
    ) {
        self.init(
            nodePorts: [port], requests: requests, slots: [:], connections: connections,
            chunk: chunk)
    }

    /// kezekd nodes on Redis Cluster; `slots`: every provider's hash slot.
    init(
        nodePorts: [Int], requests: [(provider: String, holder: String)], slots: [String: Int],
        connections: Int, chunk: Int
    ) {
        self.nodePorts = nodePorts
        self.requests = requests
        self.slots = slots
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

    /// The node to send request `index` to: the one that said it serves the slot, else any.
    private func port(for index: Int, spread: Int) -> Int {
        if let slot = slots[requests[index].provider], let port = routes.withLock({ $0[slot] }) {
            return port
        }
        return nodePorts[spread % nodePorts.count]
    }

    private func work(_ worker: Int, deadline: Double) {
        var pending = Array(stride(from: worker, to: requests.count, by: connections))
        var head = 0
        var clients: [Int: LineClient] = [:]
        var attempts = 0
        while head < pending.count && monotonicNow() < deadline && attempts < 100_000 {
            attempts += 1
            let batch = Array(pending[head..<min(head + chunk, pending.count)])
            head += batch.count
            var retry: [Int] = []
            for (port, group) in Dictionary(
                grouping: batch, by: { self.port(for: $0, spread: worker + attempts + $0) })
            {
                guard let client = clients[port] ?? (try? LineClient(port: port, timeout: 1)) else {
                    forget(port)
                    retry.append(contentsOf: group)
                    continue
                }
                clients[port] = client
                var answered = 0
                do {
                    try client.send(
                        group.map { "BOOK \(requests[$0].provider) \(requests[$0].holder)\r\n" }
                            .joined(), timeout: 10)
                    for index in group {
                        let reply = try client.readLine(timeout: 15)
                        answered += 1
                        classify(index, reply, retry: &retry)
                    }
                } catch {
                    retry.append(contentsOf: group[answered...])
                    client.close()
                    clients[port] = nil
                    forget(port)
                    state.withLock { $0.brokenConnections += 1 }
                }
            }
            let settled = batch.count - retry.count
            if settled > 0 { progress.report(settled) }
            if !retry.isEmpty {
                pending.append(contentsOf: retry)
                pause(0.05)
            }
            if head > 4096 { pending.removeFirst(head); head = 0 }
        }
        for client in clients.values { client.close() }
        let left = Set(pending[head...])
        if !left.isEmpty { state.withLock { $0.unsettled.formUnion(left) } }
    }

    /// A node that does not answer: its slots are asked of any node next time.
    private func forget(_ port: Int) {
        routes.withLock { routes in routes = routes.filter { $0.value != port } }
    }

    private func classify(_ index: Int, _ reply: String, retry: inout [Int]) {
        if reply.hasPrefix("+BOOKED ") {
            state.withLock { _ = $0.booked.insert(index) }
        } else if reply == "+FULL \(requests[index].provider)" {
            state.withLock { _ = $0.full.insert(index) }
        } else if reply == "+LIMIT \(requests[index].holder)" {
            state.withLock { _ = $0.limited.insert(index) }
        } else if reply.hasPrefix("-MOVED "), let (slot, port) = Self.moved(reply) {
            routes.withLock { $0[slot] = port }
            state.withLock { $0.movedReplies += 1 }
            retry.append(index)
        } else if reply.hasPrefix("-UNAVAILABLE") {
            state.withLock { $0.unavailableReplies += 1 }
            retry.append(index)
        } else if reply.hasPrefix("-LOADING") {
            state.withLock { $0.loadingReplies += 1 }
            retry.append(index)
        } else {
            state.withLock {
                $0.unexpected.append(
                    "BOOK \(requests[index].provider) \(requests[index].holder): \(reply)")
            }
        }
    }

    /// `-MOVED <slot> <host>:<port>`.
    private static func moved(_ reply: String) -> (slot: Int, port: Int)? {
        let parts = reply.split(separator: " ")
        guard parts.count == 3, let slot = Int(parts[1]), let colon = parts[2].lastIndex(of: ":"),
            let port = Int(parts[2][parts[2].index(after: colon)...])
        else { return nil }
        return (slot, port)
    }
}
