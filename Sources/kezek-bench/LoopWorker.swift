// One libuv loop (on its own thread) driving a share of a phase's connections. Requests go
// out either closed loop (each connection keeps `pipeline` in flight, a reply frees a slot) or
// open loop (a fixed schedule; latency counts from the scheduled time, so a stalled server
// cannot hide its stall by slowing the sender: no coordinated omission).
import CLibUV

final class LoopWorker {
    let loop: UnsafeMutablePointer<uv_loop_t>
    private let timer: UnsafeMutablePointer<uv_timer_t>
    let plan: PhasePlan
    let stats = PhaseStats()
    private let env: LoadEnvironment
    private let progress: ProgressCounter
    private var connections: [Connection] = []

    /// This worker's slice of the batch: it cycles through [poolStart, poolStart + poolCount).
    private let poolStart: Int
    private let poolCount: Int
    private var poolCursor = 0
    /// Requests this worker may still send in all; lowered when the duration ends.
    private var limit: Int
    private var sentCount = 0
    private var inFlight = 0
    private let perConnection: Int
    /// Open loop: nanoseconds between scheduled sends on this worker (0 = closed loop).
    private let intervalNs: UInt64
    private var roundRobin = 0
    private let scheduleOffsetNs: UInt64

    private var startNs: UInt64 = 0
    private var connectDeadlineNs: UInt64 = 0
    private var sendDeadlineNs: UInt64 = .max
    private var hardDeadlineNs: UInt64 = .max
    private(set) var connecting = 0
    private(set) var opened = 0
    private var live = 0
    private var started = false
    private var finished = false
    private var precise: PreciseTimer?
    private let auth: UnsafeRawBufferPointer?
    private let authBatch: RequestBatch?

    init(
        plan: PhasePlan, env: LoadEnvironment, connectionIDs: [Int], pool: Range<Int>,
        requests: Int,
        progress: ProgressCounter, threads: Int, workerIndex: Int
    ) {
        self.plan = plan
        self.env = env
        self.progress = progress
        poolStart = pool.lowerBound
        poolCount = pool.count
        limit = requests
        loop = .allocate(capacity: 1)
        timer = .allocate(capacity: 1)
        if let rate = plan.rate, rate > 0 {
            intervalNs = max(1, UInt64(1e9 * Double(threads) / rate))
        } else {
            intervalNs = 0
        }
        // No bound: pumpAll deals requests out one at a time in rotation, so "everything at
        // once" still spreads evenly over the connections that are up.
        perConnection = plan.pipeline > 0 ? plan.pipeline : Int.max
        // Workers of an open-loop phase interleave their schedules instead of sending together.
        scheduleOffsetNs = intervalNs / UInt64(max(1, threads)) * UInt64(workerIndex)
        if let token = env.auth {
            let b = RequestBatch()
            b.add("AUTH", token)
            authBatch = b
            auth = b.request(0)
        } else {
            authBatch = nil
            auth = nil
        }
        connections = []
        for id in connectionIDs { connections.append(Connection(worker: self, id: id)) }
    }

    deinit { loop.deallocate() }

    // MARK: running

    /// Runs the phase on the calling thread: connect, wait at the gate, send, drain, close.
    func run(gate: StartGate) {
        uv_loop_init(loop)
        uv_timer_init(loop, timer)
        timer.pointee.data = UVRetain.retained(self)
        if intervalNs > 0 { precise = PreciseTimer.make(loop: loop, worker: self) }
        let tickMs: UInt64 = intervalNs > 0 && precise == nil ? 1 : 5
        uv_timer_start(
            timer,
            { t in
                UVRetain.owner(t!.pointee.data, as: LoopWorker.self).tick()
            }, tickMs, tickMs)

        connectDeadlineNs = uv_hrtime() + 10_000_000_000
        for c in connections {
            let rc = c.connect(to: env.target)
            if rc == 0 { connecting += 1 } else { stats.note("connect: " + uvError(rc)) }
        }
        while connecting > 0 { uv_run(loop, UV_RUN_ONCE) }

        gate.arriveAndWait()

        startNs = uv_hrtime() + scheduleOffsetNs
        hardDeadlineNs = startNs + UInt64(env.timeLimit * 1e9)
        if let d = plan.duration {
            sendDeadlineNs = startNs + UInt64(d * 1e9)
            // Open loop: exactly the requests scheduled before the end are sent, late or not.
            if intervalNs > 0 {
                limit = min(limit, Int((UInt64(d * 1e9) + intervalNs - 1) / intervalNs))
            }
        }
        started = true
        if live == 0 {
            limit = 0
            finish()
        } else {
            if let auth {
                for c in connections where c.state == .open {
                    c.enqueue(auth)
                    c.pending.push(-1, startNs)
                    inFlight += 1
                }
            }
            // Open loop: wake on the schedule (at most every 50 us; faster schedules send a few
            // requests per wake-up, each still timed from its own scheduled instant).
            precise?.start(first: startNs + intervalNs, period: max(intervalNs, 50_000))
            pumpAll(uv_hrtime())
            checkDone()
        }
        uv_run(loop, UV_RUN_DEFAULT)
        uv_loop_close(loop)
        connections.removeAll()
    }

    private func tick() {
        let now = uv_hrtime()
        if !started {
            if now > connectDeadlineNs {
                for c in connections where c.state == .connecting {
                    stats.note("connect: timed out")
                    c.close()
                }
            }
            return
        }
        if finished { return }
        if now >= hardDeadlineNs {
            stats.timedOut = true
            for c in connections {
                let dropped = c.pending.drain().filter { $0 >= 0 }.count
                stats.lost += dropped
            }
            inFlight = 0
            limit = sentCount
            finish()
            return
        }
        if intervalNs == 0 && sentCount < limit && now >= sendDeadlineNs { limit = sentCount }
        if intervalNs > 0 { pumpAll(now) }
        checkDone()
    }

    private func checkDone() {
        guard !finished else { return }
        if (sentCount >= limit || live == 0) && inFlight == 0 { finish() }
    }

    private func finish() {
        finished = true
        precise?.close()
        precise = nil
        uv_timer_stop(timer)
        UVRetain.close(uvHandle(timer))
        for c in connections { c.close() }
    }

    // MARK: sending

    /// The next request may go now: it is due (open loop) and falls before the end of
    /// `--duration` (its scheduled time in open loop, the current time in closed loop).
    @inline(__always)
    private func due(_ now: UInt64) -> Bool {
        if intervalNs == 0 { return now < sendDeadlineNs }
        let scheduled = startNs &+ UInt64(sentCount) &* intervalNs
        return scheduled <= now && scheduled < sendDeadlineNs
    }

    @inline(__always)
    private func sendOne(_ c: Connection, _ now: UInt64) {
        let index = poolStart + poolCursor
        poolCursor += 1
        if poolCursor == poolCount { poolCursor = 0 }
        let t = intervalNs > 0 ? startNs &+ UInt64(sentCount) &* intervalNs : now
        if stats.firstSendNs == .max { stats.firstSendNs = now }
        sentCount += 1
        stats.sent += 1
        inFlight += 1
        c.enqueue(plan.batch.request(index))
        c.pending.push(Int32(index), t)
    }

    /// Hands due requests to connections with room, in rotation, then writes.
    private func pumpAll(_ now: UInt64) {
        let n = connections.count
        outer: while sentCount < limit && due(now) {
            var tries = 0
            while tries < n {
                let c = connections[roundRobin]
                roundRobin += 1
                if roundRobin == n { roundRobin = 0 }
                if c.state == .open && c.pending.count < perConnection {
                    sendOne(c, now)
                    continue outer
                }
                tries += 1
            }
            break
        }
        for c in connections { c.flush() }
    }

    /// The precise timer fired: send what is due.
    func scheduleDue() {
        guard started, !finished else { return }
        pumpAll(uv_hrtime())
    }

    // MARK: events from connections

    func connectFinished(_ c: Connection, status: Int32) {
        connecting -= 1
        if status == 0 {
            opened += 1
            live += 1
        } else if status != UV_ECANCELED.rawValue {
            stats.note("connect: " + uvError(status))
        }
    }

    func connectionLost(_ c: Connection, reason: String) {
        live -= 1
        let dropped = c.pending.drain()
        inFlight -= dropped.count
        let real = dropped.filter { $0 >= 0 }
        stats.lost += real.count
        if let results = plan.results {
            for i in real { results.kinds[Int(i)] = .lost }
        }
        if !finished { stats.note("connection lost: " + reason) }
        if started { checkDone() }
    }

    func received(_ c: Connection, _ bytes: UnsafePointer<UInt8>, _ count: Int) {
        let now = uv_hrtime()
        let before = stats.replies
        c.lines.feed(bytes, count) { line in handleLine(c, line, now) }
        let got = stats.replies - before
        if got > 0 {
            stats.lastReplyNs = now
            progress.add(got)
        }
        guard !finished else { return }
        if intervalNs > 0 {
            pumpAll(now)
        } else {
            while sentCount < limit && c.state == .open && c.pending.count < perConnection
                && due(now)
            { sendOne(c, now) }
            c.flush()
        }
        checkDone()
    }

    @inline(__always)
    private func handleLine(_ c: Connection, _ line: UnsafeRawBufferPointer, _ now: UInt64) {
        if c.skipBulkPayload {  // second line of a "$N" bulk reply (a plain Redis server)
            c.skipBulkPayload = false
            return
        }
        if line[0] == UInt8(ascii: "$") && ReplyClassifier.number(line, from: 1) >= 0 {
            c.skipBulkPayload = true
        }
        guard let (index, t) = c.pending.pop() else {
            stats.unsolicited += 1
            return
        }
        inFlight -= 1
        if index < 0 {  // AUTH
            if ReplyClassifier.classify(line).kind != .ok {
                stats.note("AUTH answered " + String(decoding: line, as: UTF8.self))
            }
            return
        }
        stats.replies += 1
        let (kind, value) = ReplyClassifier.classify(line)
        if kind == .error {
            let code = ReplyClassifier.errorCode(line)
            stats.counts.addError(code: code)
            if stats.errorSamples[code] == nil {
                stats.errorSamples[code] = String(decoding: line, as: UTF8.self)
            }
        } else {
            stats.counts.add(kind)
        }
        _ = stats.histogram.record(now > t ? (now - t) / 1000 : 0)
        if let r = plan.results {
            let i = Int(index)
            r.kinds[i] = kind
            r.values[i] = value
            if let lines = r.lines { lines[i] = String(decoding: line, as: UTF8.self) }
        }
    }
}
