import Glibc
import Logging
import Synchronization

/// The holder limit across shards (`holder-limit` with `redis-cluster`): a holder's count lives
/// at its home master (`HolderUnitKeys`), and this shard takes a seat for a holder only with a
/// unit reserved there. One thread of its own sends the reserves and releases of every loop
/// thread, pipelined, one connection per master, all masters at once; the answer of a reserve
/// is handed to `done` on that thread (the caller moves it to its loop).
///
/// A release is sent only when the answer is known not to have been applied before (an error
/// reply: the scripts apply all or nothing) and retried then; a release or reserve whose reply
/// was lost may have been applied, so it is not sent again: the unit stays (the holder counted
/// once too often, never too few) until this shard's next holder settles it.
final class HolderUnits: @unchecked Sendable {
    enum Answer: Sendable { case granted, limit, failed }

    private enum Op { case reserve, release }
    private struct Request {
        let op: Op
        let holder: String
        let provider: String
        let epoch: Int
        let done: (@Sendable (Answer) -> Void)?
        var attempts = 0
        var notBefore: UInt64 = 0
    }

    /// A connection to one master and the scripts loaded on it.
    final class Link {
        let redis: RedisSyncConnection
        let reserveAndReleaseSHA: String
        let settleSHA: String

        init(_ endpoint: ServerSettings.Endpoint, settings: ServerSettings) throws {
            let timeoutMillis = max(Int(settings.writeTimeout * 1000), 1)
            redis = try RedisSyncConnection(
                endpoint: endpoint, user: settings.redisUser, password: settings.redisPassword,
                connectTimeoutMillis: timeoutMillis, replyTimeoutMillis: timeoutMillis)
            let redis = redis
            reserveAndReleaseSHA = try Self.load(HolderUnitScripts.reserveAndRelease, on: redis)
            settleSHA = try Self.load(HolderUnitScripts.settle, on: redis)
        }

        private static func load(_ script: String, on redis: RedisSyncConnection) throws -> String {
            guard let sha = try redis.command(["SCRIPT", "LOAD", script]).string else {
                throw RedisSyncConnection.Failure(description: "SCRIPT LOAD gave no sha")
            }
            return sha
        }
    }

    let limit: Int
    /// The shard this daemon serves (its identity slot).
    let shard: Int
    let keys: HolderUnitKeys
    let primary: RedisPrimary
    let settings: ServerSettings
    let state: ServerState
    let log: Logger
    /// The seats this shard holds, read when a master lost its units (set at `start`).
    private(set) var table: SeatTable?
    /// Grants answered and not yet taken as a seat on their loop, by "<holder> <provider>":
    /// a master's units put back meanwhile must count them too.
    let grantsInFlight = Mutex<[String: Int]>([:])
    /// Set when a master answered `KZLOST`: its fences are looked at without waiting.
    let fenceLostSeen = Atomic<Bool>(false)
    var lastFenceCheck: UInt64 = 0
    var fenceCheckNotBefore: [String: UInt64] = [:]
    var fenceFailureWarning = OncePer(seconds: 10)
    private let pending = Mutex<[Request]>([])
    private let wakeup = ThreadWakeup()
    private let stopped = Atomic<Bool>(false)
    private var thread: pthread_t?
    /// The units thread's own: links by master address, shard tags by identity slot, releases
    /// to send again.
    var links: [String: Link] = [:]
    private var tags: [Int: String] = [:]
    private var retries: [Request] = []

    /// A refused release is sent again this often, this many times (then left to recovery).
    static let retryMillis = 50
    static let maxAttempts = 100

    init(settings: ServerSettings, primary: RedisPrimary, state: ServerState, log: Logger) {
        limit = settings.holderLimit
        shard = settings.shardSlot
        keys = HolderUnitKeys(prefix: settings.keyPrefix)
        self.primary = primary
        self.settings = settings
        self.state = state
        self.log = log
    }

    func start(table: SeatTable) {
        self.table = table
        thread = NativeThread.start { self.run() }
    }

    func stop() {
        stopped.store(true, ordering: .releasing)
        wakeup.signal()
        if let thread { pthread_join(thread, nil) }
        thread = nil
    }

    /// Asks H's home for a unit at `provider` (from any thread).
    func reserve(
        holder: String, provider: String, epoch: Int, done: @escaping @Sendable (Answer) -> Void
    ) {
        enqueue(Request(op: .reserve, holder: holder, provider: provider, epoch: epoch, done: done))
    }

    /// A granted unit's BOOK ran on its loop (the seat taken, or the unit given back).
    func grantSettled(holder: String, provider: String) {
        grantsInFlight.withLock { grants in
            let key = holder + " " + provider
            if let count = grants[key], count > 1 {
                grants[key] = count - 1
            } else {
                grants[key] = nil
            }
        }
    }

    /// Gives one claim of H at `provider` back (from any thread).
    func release(holder: String, provider: String, epoch: Int) {
        enqueue(Request(op: .release, holder: holder, provider: provider, epoch: epoch, done: nil))
    }

    private func enqueue(_ request: Request) {
        pending.withLock { $0.append(request) }
        wakeup.signal()
    }

    /// The shard tag of a master's shard, computed once per shard.
    func tag(ofShard identitySlot: Int) -> String {
        if let tag = tags[identitySlot] { return tag }
        let tag = ShardTag.forSlot(identitySlot)
        tags[identitySlot] = tag
        return tag
    }

    private func run() {
        while !stopped.load(ordering: .acquiring) {
            wakeup.wait(millis: retries.isEmpty ? Self.fenceCheckMillis : Self.retryMillis)
            var batch = pending.withLock { requests in
                defer { requests.removeAll(keepingCapacity: true) }
                return requests
            }
            let now = MonotonicClock.nanoseconds()
            let due = retries.filter { $0.notBefore <= now }
            retries.removeAll { $0.notBefore <= now }
            batch += due
            if !batch.isEmpty { send(batch) }
            if fenceLostSeen.exchange(false, ordering: .acquiringAndReleasing)
                || now &- lastFenceCheck >= UInt64(Self.fenceCheckMillis) * 1_000_000
            {
                lastFenceCheck = now
                checkFences()
            }
        }
        // Stopped once the loops have: requests left have no reply to give.
        links = [:]
    }

    /// One pipeline per home master, written to every master before any reply is read.
    private func send(_ batch: [Request]) {
        guard let topology = primary.topology else {
            for request in batch { settle(request, notApplied: "no slot map") }
            return
        }
        var byMaster:
            [String: (master: ServerSettings.Endpoint, tag: String, requests: [Request])] = [:]
        for request in batch {
            guard let home = topology.shard(ofSlot: HolderUnitKeys.homeSlot(of: request.holder))
            else {
                settle(request, notApplied: "no master serves the holder's slot")
                continue
            }
            byMaster[
                home.master.description, default: (home.master, tag(ofShard: home.identitySlot), [])
            ].requests.append(request)
        }
        var sent: [(address: String, link: Link, calls: [ArraySlice<Request>])] = []
        for (address, group) in byMaster {
            var connected: Link?
            let calls = stride(from: 0, to: group.requests.count, by: Self.requestsPerCall).map {
                group.requests[$0..<min($0 + Self.requestsPerCall, group.requests.count)]
            }
            do {
                let link = try links[address] ?? Link(group.master, settings: settings)
                connected = link
                links[address] = link
                for call in calls {
                    link.redis.append(arguments(call, link: link, homeTag: group.tag))
                }
                if settings.redisReplicas > 0 {
                    link.redis.append([
                        "WAIT", String(settings.redisReplicas),
                        String(max(Int(settings.writeTimeout * 1000), 1)),
                    ])
                }
                try link.redis.flush()
                sent.append((address, link, calls))
            } catch {
                // Not connected: nothing was sent. A write that failed may have sent a part.
                links[address] = nil
                for request in group.requests {
                    if connected == nil {
                        settle(request, notApplied: "\(error)")
                    } else {
                        settle(request, unknown: "\(error)")
                    }
                }
            }
        }
        for (address, link, calls) in sent { read(calls, from: link, address: address) }
    }

    /// Requests in one script call at most.
    static let requestsPerCall = 512

    /// One call of `reserveAndRelease` for `requests` (from one shard: one index, one fence).
    private func arguments(_ requests: ArraySlice<Request>, link: Link, homeTag: String) -> [String]
    {
        let epoch = requests.map(\.epoch).min() ?? 0
        let shards = primary.topology?.shards.map(\.identitySlot) ?? [shard]
        var arguments = [
            "EVALSHA", link.reserveAndReleaseSHA, "0", keys.index(homeTag: homeTag, shard: shard),
            keys.fence(homeTag: homeTag, shard: shard), String(epoch), String(limit),
            String(shards.count),
        ]
        arguments += shards.map { keys.fence(homeTag: homeTag, shard: $0) }
        arguments.reserveCapacity(arguments.count + 4 * requests.count)
        for request in requests {
            arguments += [
                request.op == .reserve ? "R" : "F", keys.units(holder: request.holder),
                request.holder, request.provider,
            ]
        }
        return arguments
    }

    /// The calls' answers, then WAIT's. A call's error answers each of its requests.
    private func read(_ calls: [ArraySlice<Request>], from link: Link, address: String) {
        var answered: [(Request, RedisValue)] = []
        do {
            for call in calls {
                let answer = try link.redis.replyOrError()
                let items = answer.items
                for (index, request) in call.enumerated() {
                    if case .error = answer {
                        answered.append((request, answer))
                    } else {
                        answered.append((request, index < items.count ? items[index] : .null))
                    }
                }
            }
            var replicated = true
            if settings.redisReplicas > 0,
                case .integer(let acknowledged) = try link.redis.replyOrError()
            {
                replicated = acknowledged >= settings.redisReplicas
            }
            for (request, answer) in answered {
                deliver(request, answer, replicated: replicated, address: address)
            }
        } catch {
            links[address] = nil
            for (request, answer) in answered {
                deliver(request, answer, replicated: false, address: address)
            }
            let unread = calls.flatMap { $0 }.dropFirst(answered.count)
            for request in unread { settle(request, unknown: "\(error)") }
        }
    }

    /// A script's reply. A reserve granted on a master whose replica does not have it yet is
    /// given back (it was applied: the release is exact) and answered as failed.
    private func deliver(
        _ request: Request, _ answer: RedisValue, replicated: Bool, address: String
    ) {
        if case .error(let text) = answer {
            // A master that lost its scripts (a promoted replica): loaded again on reconnect.
            if text.hasPrefix("NOSCRIPT") { links[address] = nil }
            if FencingRefusal(errorReply: text) == .lost {
                fenceLostSeen.store(true, ordering: .releasing)
            }
            settle(request, notApplied: text)
            return
        }
        switch request.op {
        case .reserve:
            let granted = answer.string == "GRANTED"
            if granted && replicated {
                grantsInFlight.withLock {
                    $0[request.holder + " " + request.provider, default: 0] += 1
                }
            }
            if granted && !replicated {
                enqueue(
                    Request(
                        op: .release, holder: request.holder, provider: request.provider,
                        epoch: request.epoch, done: nil))
                request.done?(.failed)
                return
            }
            request.done?(granted ? .granted : (answer.string == "LIMIT" ? .limit : .failed))
        case .release:
            break
        }
    }

    /// The request was surely not applied: a reserve fails, a release is sent again later.
    private func settle(_ request: Request, notApplied reason: String) {
        switch request.op {
        case .reserve:
            request.done?(.failed)
        case .release:
            guard FencingRefusal(errorReply: reason) != .fenced,
                request.attempts + 1 < Self.maxAttempts
            else {
                log.warning(
                    "holder unit not released: left to the shard's next holder",
                    metadata: [
                        "holder": "\(request.holder)", "provider": "\(request.provider)",
                        "error": "\(reason)",
                    ])
                return
            }
            var again = request
            again.attempts += 1
            again.notBefore = MonotonicClock.nanoseconds() + UInt64(Self.retryMillis) * 1_000_000
            retries.append(again)
        }
    }

    /// The request may have been applied (its reply was lost): not sent again.
    private func settle(_ request: Request, unknown reason: String) {
        request.done?(.failed)
        if request.op == .release {
            log.warning(
                "holder unit release unanswered: left to the shard's next holder",
                metadata: [
                    "holder": "\(request.holder)", "provider": "\(request.provider)",
                    "error": "\(reason)",
                ])
        }
    }
}
