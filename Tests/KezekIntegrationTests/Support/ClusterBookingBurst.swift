import Foundation

/// A burst of BOOKs against kezekd nodes on Redis Cluster, sent the way a cluster-aware
/// gateway sends them: each to the node that serves its provider's hash slot, learnt from
/// `-MOVED` replies (none known yet: any node). A request that got no reply, `-UNAVAILABLE`
/// or `-LOADING` is sent again; a node that does not answer is forgotten for the slots it
/// served, so the next try goes to another node, which answers or sends it on.
///
/// Unchecked Sendable: configured before `run`; what the workers share sits behind `Locked`.
final class ClusterBookingBurst: @unchecked Sendable {
    typealias Outcome = BookingBurst.Outcome

    let nodePorts: [Int]
    let requests: [(provider: String, holder: String)]
    let slots: [String: Int]
    let connections: Int
    let chunk: Int
    let progress = SettledProgress()
    private let state = Locked(Outcome())
    /// Hash slot -> port of the node that last said it serves it.
    private let routes = Locked([Int: Int]())

    /// `slots`: every provider's hash slot (`CLUSTER KEYSLOT`).
    init(nodePorts: [Int], requests: [(provider: String, holder: String)], slots: [String: Int], connections: Int, chunk: Int) {
        self.nodePorts = nodePorts
        self.requests = requests
        self.slots = slots
        self.connections = connections
        self.chunk = chunk
    }

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

    private func port(for index: Int, worker: Int) -> Int {
        let slot = slots[requests[index].provider]!
        return routes.withLock { $0[slot] } ?? nodePorts[(worker + index) % nodePorts.count]
    }

    private func work(_ worker: Int, deadline: Double) {
        var pending = Array(stride(from: worker, to: requests.count, by: connections))
        var clients: [Int: LineClient] = [:]
        var rounds = 0
        while !pending.isEmpty && monotonicNow() < deadline && rounds < 100_000 {
            rounds += 1
            let batch = Array(pending.prefix(chunk))
            pending.removeFirst(batch.count)
            var retry: [Int] = []
            for (port, group) in Dictionary(grouping: batch, by: { port(for: $0, worker: worker + rounds) }) {
                guard let client = clients[port] ?? (try? LineClient(port: port, timeout: 1)) else {
                    forget(port)
                    retry.append(contentsOf: group)
                    continue
                }
                clients[port] = client
                var answered = 0
                do {
                    try client.send(group.map { "BOOK \(requests[$0].provider) \(requests[$0].holder)\r\n" }.joined(), timeout: 10)
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
        }
        for client in clients.values { client.close() }
        if !pending.isEmpty { state.withLock { $0.unsettled.formUnion(pending) } }
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
        } else if reply.hasPrefix("-MOVED ") {
            // -MOVED <slot> <host>:<port>
            let parts = reply.split(separator: " ")
            guard parts.count == 3, let slot = Int(parts[1]), let colon = parts[2].lastIndex(of: ":"),
                  let port = Int(parts[2][parts[2].index(after: colon)...]) else {
                state.withLock { $0.unexpected.append("BOOK \(requests[index].provider): \(reply)") }
                return
            }
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
            state.withLock { $0.unexpected.append("BOOK \(requests[index].provider) \(requests[index].holder): \(reply)") }
        }
    }
}
