// One client of the nemesis run, behaving as a gateway would: it sends a request to the node
// it believes serves, reads the answer with a deadline, and on a refusal, a standby's answer,
// a timeout or a lost connection tries again (the other node too). Every attempt is recorded
// with its sending and answer times; one whose answer never came is unknown.
import Foundation
import KezekNemesis
import KezekClientSupport

final class HistoryRecorder: @unchecked Sendable {
    private let lock = NSLock()
    private var operations: [HistoryOperation] = []
    let origin = monotonicNanoseconds()

    func now() -> UInt64 { monotonicNanoseconds() - origin }
    func record(_ operation: HistoryOperation) { lock.withLock { operations.append(operation) } }
    var all: [HistoryOperation] { lock.withLock { operations } }

    private var roundOperations: [RoundOperation] = []
    func record(_ operation: RoundOperation) { lock.withLock { roundOperations.append(operation) } }
    var allRounds: [RoundOperation] { lock.withLock { roundOperations } }
}

/// The seeded workload every client draws from: few providers and holders, so that requests
/// meet at the same seats and the same holders.
struct NemesisWorkload {
    let providers: [String]
    let holders: [String]
    let capacity: Int
    /// A provider too large to fill, where each holder books once and is never cancelled, and
    /// others read it soon after: a booking that vanishes there, or a read that saw one that
    /// never happened, has no cancellation to hide behind.
    let freshProvider: String
    let freshCapacity = 1_000_000
    /// Put in front of every id but the contended holders' on a topology of the tool's own;
    /// in front of those too against a deployment it was pointed at (`--nodes`), where each
    /// run needs ids of its own (the holder limit counts every provider of the deployment).
    let namespace: String

    init(providers: Int, holders: Int, capacity: Int, namespace: String = "nem") {
        self.namespace = namespace
        self.providers = (1...providers).map { "\(namespace).p\($0)" }
        self.holders = (1...holders).map { namespace == "nem" ? "h\($0)" : "\(namespace).h\($0)" }
        self.capacity = capacity
        freshProvider = "\(namespace).fresh"
    }

    /// The `number`th fresh holder of client `client`.
    func freshHolder(client: Int, number: Int) -> String {
        namespace == "nem" ? "f\(client).\(number)" : "\(namespace).f\(client).\(number)"
    }
}

/// The fresh holders booked last, for reads soon after their BOOK was sent.
final class RecentHolders: @unchecked Sendable {
    private let lock = NSLock()
    private var ring: [String] = []
    private var next = 0
    func add(_ holder: String) {
        lock.withLock {
            if ring.count < 32 { ring.append(holder) } else { ring[next % 32] = holder }
            next += 1
        }
    }
    func pick(_ random: inout SplitMix64) -> String? {
        lock.withLock { ring.isEmpty ? nil : ring[Int(random.next() % UInt64(ring.count))] }
    }
}

/// Client-side faults the nemesis asks for: the next `pendingAborts` requests sent are
/// abandoned at once by a reset of the client's connection.
final class ClientFaults: @unchecked Sendable {
    private let lock = NSLock()
    private var pendingAborts = 0
    func abort(_ count: Int) { lock.withLock { pendingAborts += count } }
    func takeAbort() -> Bool {
        lock.withLock {
            guard pendingAborts > 0 else { return false }
            pendingAborts -= 1
            return true
        }
    }
}

final class GatewayClient: @unchecked Sendable {
    let id: Int
    /// The client-side port of each node (its fault proxy).
    let ports: [UInt16]
    /// On Redis Cluster: where each provider goes (follows -MOVED); nil: one shared node.
    let routes: ClusterRoutes?
    /// False where kezekd refuses BOOK … WAIT (a cluster with a holder limit): plain BOOK.
    let waitlists: Bool
    let workload: NemesisWorkload
    let recorder: HistoryRecorder
    let faults: ClientFaults
    let recent: RecentHolders
    let timeout: Double
    /// The fair rounds under way, when the run plays them.
    let rounds: NemesisRounds?
    private var freshCount = 0
    var random: SplitMix64
    /// The node requests go to first; the next one after a refusal or a lost answer.
    var preferred = 0
    private var sockets: [LineClient?]

    init(
        id: Int, seed: UInt64, ports: [UInt16], workload: NemesisWorkload,
        recorder: HistoryRecorder,
        faults: ClientFaults, recent: RecentHolders, timeout: Double,
        routes: ClusterRoutes? = nil, waitlists: Bool = true, rounds: NemesisRounds? = nil
    ) {
        self.rounds = rounds
        self.recent = recent
        self.id = id
        self.ports = ports
        self.routes = routes
        self.waitlists = waitlists
        self.workload = workload
        self.recorder = recorder
        self.faults = faults
        self.timeout = timeout
        random = SplitMix64(workloadSeed: seed &+ UInt64(bitPattern: Int64(id)) &* 0x1000_0001)
        sockets = Array(repeating: nil, count: ports.count)
    }

    func run(until deadline: Double) {
        while monotonicNow() < deadline {
            if let phase = rounds?.phase, random.unit() < 0.3 {
                roundRequest(phase.spec, phase.state, until: deadline)
                continue
            }
            if random.unit() < 0.3 {
                fresh(until: deadline)
                continue
            }
            let provider = workload.providers[Int(random.next() % UInt64(workload.providers.count))]
            let holder = workload.holders[Int(random.next() % UInt64(workload.holders.count))]
            let roll = random.unit()
            var request = Self.mix.first { roll < $0.below }?.request ?? .confirm
            if request == .bookWait && !waitlists { request = .book }
            perform(request, provider, request == .seats ? "" : holder, until: deadline)
        }
        for socket in sockets { socket?.abort() }
    }

    /// A new holder books once at the fresh provider (no retry once sent: a family that gave
    /// up), or a recent one is read.
    private func fresh(until deadline: Double) {
        if random.unit() < 0.5, let holder = recent.pick(&random) {
            perform(.status, workload.freshProvider, holder, until: deadline)
        } else {
            freshCount += 1
            let holder = workload.freshHolder(client: id, number: freshCount)
            recent.add(holder)
            perform(.book, workload.freshProvider, holder, until: deadline, retryUnknown: false)
        }
    }

    /// The contended workload's requests, by the share of rolls below each bound.
    private static let mix: [(below: Double, request: HistoryOperation.Request)] = [
        (0.25, .book), (0.45, .bookWait), (0.63, .cancel), (0.88, .status), (0.95, .seats),
    ]

    /// One request as a gateway sends it: at most four attempts.
    private func perform(
        _ request: HistoryOperation.Request, _ provider: String, _ holder: String,
        until deadline: Double,
        retryUnknown: Bool = true
    ) {
        let line: String
        switch request {
        case .book: line = "BOOK \(provider) \(holder)"
        case .bookWait: line = "BOOK \(provider) \(holder) WAIT"
        case .cancel: line = "CANCEL \(provider) \(holder)"
        case .confirm: line = "CONFIRM \(provider) \(holder)"
        case .status: line = "STATUS \(provider) \(holder)"
        case .seats: line = "SEATS \(provider)"
        }
        // On a cluster a -MOVED costs an attempt, and a takeover may pass both of a shard's
        // nodes: twice as many.
        for _ in 0..<(routes == nil ? 4 : 8) where monotonicNow() < deadline {
            let node = routes?.node(for: provider) ?? preferred
            let invoked = recorder.now()
            let outcome = attempt(line, request, on: node)
            let completed = recorder.now()
            var operation = HistoryOperation(
                client: id, request: request, provider: provider, holder: holder,
                invoked: invoked, completed: completed, outcome: outcome)
            switch outcome {
            case .unknown:
                operation.completed = .max
                recorder.record(operation)
                moveOn(provider, from: node)
                if !retryUnknown { return }
            case .failed(let why):
                recorder.record(operation)
                if why.hasPrefix("MOVED"), routes?.moved(provider, why) == true { continue }
                if why.hasPrefix("UNAVAILABLE standby") || why.hasPrefix("UNAVAILABLE fenced")
                    || why.hasPrefix("UNAVAILABLE lease lapsed") || why == "refused"
                {
                    moveOn(provider, from: node)
                } else if !why.hasPrefix("UNAVAILABLE") && !why.hasPrefix("LOADING") {
                    return
                }
                usleep(30_000)
                continue
            default:
                recorder.record(operation)
                return
            }
            usleep(30_000)
        }
    }

    /// The next node for `provider` after `node` failed it.
    func moveOn(_ provider: String, from node: Int) {
        if let routes {
            routes.next(provider, after: node)
        } else {
            preferred = (node + 1) % ports.count
        }
    }

    /// What `line` got from `node`: its reply line, or why none came (nil reply).
    func exchange(_ line: String, on node: Int) -> (reply: String?, why: String) {
        let socket: LineClient
        if let open = sockets[node] {
            socket = open
        } else {
            let port = Int(ports[node])
            guard let opened = try? LineClient(port: port, timeout: timeout)
            else {
                return (nil, "refused")
            }
            sockets[node] = opened
            socket = opened
        }
        do {
            try socket.send(line + "\r\n", timeout: timeout)
            if faults.takeAbort() {
                socket.abort()
                sockets[node] = nil
                return (nil, "client reset")
            }
            return (try socket.readLine(timeout: timeout), "")
        } catch {
            // Closed (FIN), not reset: what was sent is still read by the daemon.
            sockets[node] = nil
            return (nil, "\(error)")
        }
    }

    private func attempt(_ line: String, _ request: HistoryOperation.Request, on node: Int)
        -> HistoryOperation.Outcome
    {
        let (reply, why) = exchange(line, on: node)
        guard let reply else { return why == "refused" ? .failed(why) : .unknown(why) }
        return Self.parse(reply, request)
    }

    /// The answer as an outcome; an error line is a failure, except `-UNAVAILABLE` to a write
    /// that was not refused by a standby (Redis did not confirm: maybe applied, maybe not).
    static func parse(_ reply: String, _ request: HistoryOperation.Request)
        -> HistoryOperation.Outcome
    {
        let words = reply.dropFirst().split(separator: " ")
        let head = words.first.map(String.init) ?? ""
        if reply.hasPrefix("-") {
            let text = String(reply.dropFirst())
            return HistoryOperation.leavesUnknown(error: text, writes: request.writes)
                ? .unknown(text) : .failed(text)
        }
        let number = words.count > 1 ? Int(words[1]) ?? -1 : -1
        switch (request, head) {
        case (.status, "BOOKED"): return .statusBooked
        case (.status, "WAITING"): return .statusWaiting(number)
        case (.status, "NONE"): return .statusNone
        case (.status, "OFFERED"): return .statusOffered
        case (.seats, "SEATS"):
            var fields: [String: Int] = [:]
            for pair in words.dropFirst() {
                let parts = pair.split(separator: "=")
                if parts.count == 2 { fields[String(parts[0])] = Int(parts[1]) }
            }
            return .seats(
                capacity: fields["capacity"] ?? -1, booked: fields["booked"] ?? -1,
                waiting: fields["waiting"] ?? -1)
        case (_, "BOOKED"): return .booked
        case (_, "WAITING"): return .waiting(number)
        case (_, "FULL"): return .full
        case (_, "LIMIT"): return .limit
        case (_, "CANCELLED"): return .cancelled
        case (_, "NOTFOUND"): return .notFound
        case (_, "CONFIRMED"): return .confirmed
        default: return .failed("unexpected reply '\(reply)'")
        }
    }
}
