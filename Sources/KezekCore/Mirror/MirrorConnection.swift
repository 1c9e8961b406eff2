import CHiredis
import CKezekShims
import CLibUV
import Logging

/// One loop thread's asynchronous Redis connection, and the group commit that runs on it.
///
/// Once per loop iteration the writes made since the last batch (for providers this thread
/// owns) go to Redis as one fenced script call (FencingScripts.batch): Redis applies all of
/// it or none, and only while this daemon's epoch is current and Redis holds every batch this
/// thread sent before it. Up to `mirror-pipeline` batches are in flight at once, so Redis
/// applies one while the loop gathers the next. When Redis confirms a batch, the replies
/// waiting on it are released. A lost connection or a refused batch keeps every unconfirmed
/// batch as it was, numbers included; they are sent again, in order, after a backoff, and
/// Redis skips one it had applied before its reply was lost, so nothing is applied or logged
/// twice. Under a new epoch (after a repair) their writes are batched afresh.
final class MirrorConnection {
    private unowned let thread: LoopThread
    private let primary: RedisPrimary
    /// The address of the current connection, and the primary's generation it was read at.
    private var endpoint: ServerSettings.Endpoint
    private var endpointGeneration = 0
    private let writeTimeoutNanos: UInt64
    /// A draw's writes (their tickets share a `JointReply`) wait this long instead.
    private let drawTimeoutNanos: UInt64
    private let log: Logger
    private var encoder: MirrorBatchEncoder
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var connected = false
    /// Replies of a failed connection that hiredis still delivers are ignored.
    private var discardingReplies = false
    /// Backoff between reconnects and between resends of a refused batch: doubles on every
    /// failure, and only a confirmed batch resets it (a Redis that accepts connections but
    /// refuses writes must not be hammered).
    private var backoffMillis: UInt64 = 0
    static let minBackoffMillis: UInt64 = 50
    static let maxBackoffMillis: UInt64 = 1000
    /// No batch is sent before this (monotonic nanoseconds) after Redis refused one.
    private var retryAt: UInt64 = 0
    /// Redis refused the credentials on the last connection: the next one is made after this
    /// delay (the daemon's shared `CredentialsBackoff`), and its comings and goings are not
    /// logged (the backoff logs once per step).
    private var credentialsRetryMillis: UInt64?
    /// Writes per batch at most, so one batch never grows without bound.
    static let maxWritesPerBatch = 8192

    /// Writes to send in the next batch: at most `maxWritesPerBatch`, cut where a request ends
    /// (a request's writes are applied together); a single request larger than that (a draw's
    /// part at a popular provider) goes whole.
    static func batchSize(_ queued: some RandomAccessCollection<MirrorWrite>) -> Int {
        guard queued.count > maxWritesPerBatch else { return queued.count }
        let continues = { (offset: Int) in
            queued[queued.index(queued.startIndex, offsetBy: offset)].continues
        }
        var end = maxWritesPerBatch
        while end > 0 && continues(end - 1) { end -= 1 }
        if end > 0 { return end }
        end = maxWritesPerBatch
        while end < queued.count && continues(end - 1) { end += 1 }
        return end
    }

    /// The batch script's SHA1, from SCRIPT LOAD on this connection; nil until it answered.
    private var scriptSHA: String?
    /// The epoch this thread's batches carry, and the batches Redis applied under it.
    private var epoch = 0
    private var sequence = 0
    /// Redis refused our epoch or sequence: send nothing until the lease keeper publishes a
    /// new epoch (after a repair) or stops this daemon.
    private var blockedEpoch = 0
    /// The last error reply, for the health detail and a rate-limited log line.
    private var refusing = false
    private var lastRefusalLog: UInt64 = 0
    private var refusalsSinceLog = 0

    /// What each outstanding command on the connection is, in the order Redis answers.
    private enum Expected {
        case auth, scriptLoad, batch
        /// WAIT after batch number `n` (`redis-replicas`).
        case replicas(Int)
        /// The reply to a batch (or its WAIT) that was put back in the queue because a batch
        /// before it was refused: Redis refuses it too (its sequence check), so it is ignored.
        case superseded
    }
    /// Batches sent on this thread so far: tells a WAIT reply which batch it is about.
    private var batchesSent = 0
    private var expected: [Expected] = []
    private var expectedHead = 0

    /// Sent, but the connection was lost or Redis refused them before they were confirmed:
    /// sent again, first and with the same numbers, oldest first.
    private var unsent: [Batch] = []
    /// Made but not sent yet, oldest first.
    private var queued = PendingWrites()
    private var drained: [MirrorWrite] = []
    /// Emptied batch arrays kept for reuse, so a batch costs no allocation.
    private var spareArrays: [[MirrorWrite]] = []
    /// Sent, waiting for Redis, oldest first: at most `mirror-pipeline` batches. Past that, new
    /// writes wait and go together when the oldest is confirmed: under load the round trip
    /// itself gathers the batch (measured at -P 1 -c 50: 2 writes per batch when every
    /// iteration sent its own with no limit).
    private var inFlight: [Batch] = []
    /// Writes waiting longer than the write timeout: the mirror counts as down meanwhile.
    private var stalled = false

    private struct Batch {
        var writes: [MirrorWrite]
        let epoch: Int
        /// Redis applies it where this thread's sequence key reads `sequence`, and sets it to
        /// `nextSequence`; where it reads `nextSequence` or more, it was applied already.
        let sequence: Int
        let nextSequence: Int
        let number: Int
        /// The primary applied it; with `redis-replicas`, the replicas' WAIT is still due.
        var applied = false
    }

    init(
        thread: LoopThread, primary: RedisPrimary, keys: KeyLayout, writeTimeout: Double,
        drawTimeout: Double, log: Logger
    ) {
        self.thread = thread
        self.primary = primary
        endpoint = primary.endpoint
        self.writeTimeoutNanos = UInt64(writeTimeout * 1e9)
        self.drawTimeoutNanos = UInt64(max(drawTimeout, writeTimeout) * 1e9)
        self.log = log
        encoder = MirrorBatchEncoder(keys: keys)
    }

    /// Takes writes: connected, script loaded, not refusing, not blocked, not stalled.
    var isUp: Bool { connected && scriptSHA != nil && !stalled && !refusing && blockedEpoch == 0 }
    var hasPendingWrites: Bool { !queued.isEmpty || !inFlight.isEmpty || !unsent.isEmpty }
    var pendingWriteCount: Int {
        unsent.reduce(inFlight.reduce(queued.count) { $0 + $1.writes.count }) {
            $0 + $1.writes.count
        }
    }

    // MARK: Connection

    func connect() {
        guard context == nil else { return }
        endpointGeneration = primary.generation.load(ordering: .acquiring)
        endpoint = primary.endpoint
        guard let context = redisAsyncConnect(endpoint.host, Int32(endpoint.port)) else {
            scheduleReconnect()
            return
        }
        if context.pointee.err != 0 {
            log.warning("redis connect failed", metadata: ["error": "\(Self.errorText(context))"])
            redisAsyncFree(context)
            scheduleReconnect()
            return
        }
        context.pointee.data = Unmanaged.passUnretained(self).toOpaque()
        guard kz_redis_attach(context, thread.loop) == REDIS_OK else {
            redisAsyncFree(context)
            scheduleReconnect()
            return
        }
        redisAsyncSetConnectCallback(context, MirrorCallbacks.onConnect)
        redisAsyncSetDisconnectCallback(context, MirrorCallbacks.onDisconnect)
        self.context = context
    }

    func didConnect(status: Int32) {
        guard status == REDIS_OK else {
            // hiredis frees the context after this callback.
            context = nil
            scheduleReconnect()
            return
        }
        connected = true
        discardingReplies = false
        expected.removeAll()
        expectedHead = 0
        scriptSHA = nil
        if let password = thread.settings.redisPassword {
            send(
                ["AUTH"] + (thread.settings.redisUser.map { [$0] } ?? []) + [password],
                expecting: .auth)
        }
        // Loaded on every connection: a restarted Redis has an empty script cache.
        send(
            ["SCRIPT", "LOAD", FencingScripts.batch(cluster: primary.usesCluster)],
            expecting: .scriptLoad)
        if credentialsRetryMillis == nil {
            log.info(
                "redis connected", metadata: ["redis": "\(endpoint)", "thread": "\(thread.index)"])
        }
    }

    func didDisconnect(status: Int32) {
        // hiredis calls every pending reply callback with NULL before this, and frees the
        // context after it. Everything unconfirmed is sent again after the reconnect.
        let wasConnected = connected
        context = nil
        connected = false
        discardingReplies = false
        scriptSHA = nil
        expected.removeAll()
        expectedHead = 0
        requeueInFlight()
        if wasConnected && !thread.isStopping && credentialsRetryMillis == nil {
            log.warning(
                "redis disconnected",
                metadata: [
                    "redis": "\(endpoint)", "thread": "\(thread.index)",
                    "pending": "\(queued.count)",
                ])
        }
        updateHealth()
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !thread.isStopping else { return }
        thread.schedule(afterMillis: credentialsRetryMillis ?? nextBackoff()) { [weak self] in
            self?.connect()
        }
    }

    private func nextBackoff() -> UInt64 {
        backoffMillis = min(max(backoffMillis * 2, Self.minBackoffMillis), Self.maxBackoffMillis)
        return backoffMillis
    }

    /// Drops the connection after a reply that leaves it unusable (AUTH or SCRIPT LOAD refused).
    private func reconnect() {
        discardingReplies = true
        if let context { redisAsyncDisconnect(context) }
    }

    /// Drops the connection at once, without waiting for the replies it owes: an old primary
    /// that hangs would never send them. Its unconfirmed batches go to the new primary.
    private func abandon() {
        guard let context else { return }
        // hiredis calls every pending reply callback with NULL, then the disconnect callback;
        // it skips the latter for a connection still being made, so that case is done here.
        redisAsyncFree(context)
        if self.context != nil { didDisconnect(status: REDIS_OK) }
    }

    func close() {
        if let context {
            redisAsyncDisconnect(context)
        }
    }

    private func send(_ arguments: [String], expecting kind: Expected) {
        guard let context else { return }
        let command = RESP.command(arguments)
        command.withUnsafeBufferPointer { bytes in
            _ = redisAsyncFormattedCommand(
                context, MirrorCallbacks.onReply, nil,
                UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self),
                bytes.count)
        }
        expected.append(kind)
    }

    // MARK: Group commit

    /// Takes the writes the outbox collected and sends them as one batch.
    func flush(outbox: MirrorOutbox) {
        if primary.moves, context != nil, !discardingReplies,
            primary.generation.load(ordering: .relaxed) != endpointGeneration
        {
            // The Sentinels moved the primary: everything unconfirmed goes to the new one.
            log.notice(
                "redis primary moved; reconnecting",
                metadata: ["thread": "\(thread.index)", "redis": "\(primary.endpoint)"])
            abandon()
        }
        outbox.drain(into: &drained)
        queued.append(takingFrom: &drained)
        guard !queued.isEmpty || !unsent.isEmpty else { return }
        let state = thread.server.state
        if state.currentRole == .fenced {
            failQueued()
            return
        }
        let current = state.epoch.load(ordering: .acquiring)
        if current != epoch {
            // A new epoch (the lease taken, or a repair done): Redis's sequences start afresh.
            epoch = current
            sequence = 0
            if blockedEpoch != 0 {
                blockedEpoch = 0
                updateHealth()
            }
        }
        if let stale = unsent.first, stale.epoch != epoch {
            // Sent under an older epoch: batched afresh under this one. The write-back that
            // made this epoch holds their changes and logged them, so they are not logged again
            // (see `Provider.loggedThrough`).
            queued.prepend(contentsOf: unsent.flatMap(\.writes))
            unsent.removeAll()
        }
        while (!unsent.isEmpty || !queued.isEmpty) && canSend() {
            sendBatch()
        }
    }

    /// Connected and allowed to send one more batch now. Batches of an older epoch still in
    /// flight are waited for: the new epoch's sequences start from what Redis says of them.
    private func canSend() -> Bool {
        guard connected, !discardingReplies, context != nil, scriptSHA != nil, epoch > 0,
            blockedEpoch == 0,
            inFlight.count < thread.settings.mirrorPipeline, thread.now >= retryAt
        else { return false }
        return inFlight.last.map { $0.epoch == epoch } ?? true
    }

    private func sendBatch() {
        guard let context, let scriptSHA else { return }
        // In flight before its bytes go out: a write that fails drops the connection at once
        // (hiredis disconnects inside `redisAsyncHandleWrite`), and the disconnect must find
        // the batch in flight to send it again. Put in flight after the send, it stayed "in
        // flight" on no connection and took the next connection's first reply for its own:
        // a BOOK acknowledged that Redis never had (found by the nemesis, reset-kezekd-redis).
        let number = batchesSent + 1
        if !unsent.isEmpty {
            let batch = unsent.removeFirst()
            encoder.encodeFenced(
                batch.writes[...], script: scriptSHA, thread: thread.index, epoch: batch.epoch,
                sequence: batch.sequence, nextSequence: batch.nextSequence)
            inFlight.append(
                Batch(
                    writes: batch.writes, epoch: batch.epoch, sequence: batch.sequence,
                    nextSequence: batch.nextSequence, number: number))
            send(encoded: context)
            return
        }
        let count = Self.batchSize(queued.writes)
        // Applied only where Redis has every batch sent before it (the last in flight, or
        // what Redis confirmed).
        let from = inFlight.last?.nextSequence ?? sequence
        let next = from + 1
        encoder.encodeFenced(
            queued.writes.prefix(count), script: scriptSHA, thread: thread.index, epoch: epoch,
            sequence: from, nextSequence: next)
        let writes = queued.take(count, spare: spareArrays.popLast() ?? [])
        inFlight.append(
            Batch(writes: writes, epoch: epoch, sequence: from, nextSequence: next, number: number))
        send(encoded: context)
    }

    /// Sends the encoder's batch, and WAIT after it with `redis-replicas`.
    private func send(encoded context: UnsafeMutablePointer<redisAsyncContext>) {
        encoder.bytes.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            redisAsyncFormattedCommand(context, MirrorCallbacks.onReply, nil, base, bytes.count)
        }
        expected.append(.batch)
        batchesSent += 1
        let replicas = thread.settings.redisReplicas
        if replicas > 0 {
            // Redis answers WAIT once that many replicas have everything before it, or at the
            // timeout with how many do.
            send(
                [
                    "WAIT", String(replicas),
                    String(max(Int(thread.settings.writeTimeout * 1000), 1)),
                ], expecting: .replicas(batchesSent))
        }
        // Write now rather than on the next iteration's writable event: one loop turn less
        // per round trip. hiredis keeps write interest for whatever the socket did not take.
        redisAsyncHandleWrite(context)
    }

    func didReceive(reply: UnsafeMutablePointer<redisReply>?) {
        guard let reply, !discardingReplies, expectedHead < expected.count else { return }
        let kind = expected[expectedHead]
        expectedHead += 1
        if expectedHead == expected.count {
            expected.removeAll(keepingCapacity: true)
            expectedHead = 0
        }
        let errorText =
            reply.pointee.type == REDIS_REPLY_ERROR
            ? (reply.pointee.str.map { String(cString: $0) } ?? "?") : nil
        switch kind {
        case .auth:
            if let errorText { credentialsRefused(CredentialsRefused(authReply: errorText)) }
        case .scriptLoad:
            if let refusal = errorText.flatMap(CredentialsRefused.init(replyTo:)) {
                credentialsRefused(refusal)
                return
            }
            guard errorText == nil, reply.pointee.type == REDIS_REPLY_STRING,
                let text = reply.pointee.str
            else {
                log.error(
                    "redis refused to load the mirror script",
                    metadata: ["error": "\(errorText ?? "unexpected reply")"])
                reconnect()
                return
            }
            scriptSHA = String(cString: text)
            if credentialsRetryMillis != nil {
                credentialsRetryMillis = nil
                if thread.server.credentialsBackoff.accepted() {
                    log.notice(
                        "redis takes the credentials again", metadata: ["redis": "\(endpoint)"])
                }
            }
            updateHealth()
            thread.requestCheck()
        case .batch:
            // Redis answers in order: this is the oldest batch in flight not yet applied (with
            // `redis-replicas`, the one before it had its WAIT answered first).
            guard !inFlight.isEmpty else { return }
            if let errorText {
                refused(errorText)
                return
            }
            if inFlight[0].epoch == epoch { sequence = max(sequence, inFlight[0].nextSequence) }
            if thread.settings.redisReplicas > 0 {
                inFlight[0].applied = true
                return
            }
            confirm(inFlight.removeFirst())
        case .replicas(let number):
            guard let batch = inFlight.first, batch.number == number, batch.applied else { return }
            let acknowledged =
                reply.pointee.type == REDIS_REPLY_INTEGER ? Int(reply.pointee.integer) : -1
            guard acknowledged >= thread.settings.redisReplicas else {
                // Sent again after a backoff: Redis skips it (applied already) and WAIT asks
                // the replicas once more.
                refused(
                    errorText
                        ?? "WAIT: \(acknowledged) of \(thread.settings.redisReplicas) replicas have the batch"
                )
                return
            }
            confirm(inFlight.removeFirst())
        case .superseded:
            return
        }
    }

    /// Redis refused the credentials (rotated under the daemon, or now required): writes fail
    /// closed until a later connection is let in. Before the state is loaded the refusal is
    /// not logged here: `KezekServer.recover` stops the daemon with one line.
    private func credentialsRefused(_ refusal: CredentialsRefused) {
        let (retryNanos, logIt) = thread.server.credentialsBackoff.refused()
        credentialsRetryMillis = max(retryNanos / 1_000_000, 1)
        if logIt && thread.server.state.ready.load(ordering: .acquiring) {
            log.error(
                "redis refused the credentials: writes fail closed; retrying",
                metadata: [
                    "redis": "\(endpoint)", "error": "\(refusal)",
                    "retry_seconds": "\(Double(retryNanos) / 1e9)",
                ])
        }
        reconnect()
    }

    /// Redis (and the replicas asked for) have the batch: release its replies.
    private func confirm(_ batch: Batch) {
        var writes = batch.writes
        backoffMillis = 0
        if refusing {
            refusing = false
            log.notice("redis takes mirror writes again", metadata: ["thread": "\(thread.index)"])
            updateHealth()
        }
        Self.forEachProviderRun(writes[...]) { $0.confirmed($1) }
        for index in writes.indices {
            if let ticket = writes[index].ticket { thread.complete(ticket, failed: false) }
        }
        thread.noteBatchConfirmed(writes: writes.count)
        writes.removeAll(keepingCapacity: true)
        if spareArrays.count < 4 { spareArrays.append(writes) }
        if stalled { updateStall(now: MonotonicClock.nanoseconds()) }
        thread.requestCheck()
    }

    /// Redis refused the oldest batch in flight (the script applies all or nothing, so nothing
    /// of it holds): it, and every batch sent after it (which Redis refuses too, as they need
    /// it applied first), are sent again later, in order.
    private func refused(_ text: String) {
        let batch = inFlight[0]
        requeueInFlight()
        for index in expected.indices[expectedHead...] {
            switch expected[index] {
            case .batch, .replicas: expected[index] = .superseded
            default: break
            }
        }
        thread.server.metrics.refusedBatches.add(1, ordering: .relaxed)
        if text.hasPrefix("NOSCRIPT") {
            // The script cache was flushed: load it again and resend at once.
            scriptSHA = nil
            send(
                ["SCRIPT", "LOAD", FencingScripts.batch(cluster: primary.usesCluster)],
                expecting: .scriptLoad)
            return
        }
        if FencingRefusal(errorReply: text) != nil {
            if thread.server.state.epoch.load(ordering: .acquiring) == batch.epoch {
                // Fenced by a takeover, or Redis lost data: the lease keeper decides which.
                blockedEpoch = batch.epoch
                thread.server.requestRepair(epoch: batch.epoch)
                log.error(
                    "redis refused a mirror batch for its epoch or sequence",
                    metadata: ["thread": "\(thread.index)", "error": "\(text)"])
                updateHealth()
            }
            // Otherwise the batch carried an epoch older than the current one: resend now.
            thread.requestCheck()
            return
        }
        // Out of memory, read-only replica, busy script, disk error: fail closed meanwhile,
        // and resend after a backoff.
        retryAt = MonotonicClock.nanoseconds() + nextBackoff() * 1_000_000
        let now = MonotonicClock.nanoseconds()
        refusalsSinceLog += 1
        if !refusing || now &- lastRefusalLog >= 10_000_000_000 {
            log.error(
                "redis refused a mirror batch; retrying with backoff",
                metadata: [
                    "thread": "\(thread.index)", "error": "\(text)",
                    "refused_since_last_log": "\(refusalsSinceLog)",
                ])
            lastRefusalLog = now
            refusalsSinceLog = 0
        }
        if !refusing {
            refusing = true
            updateHealth()
        }
    }

    private func requeueInFlight() {
        guard !inFlight.isEmpty else { return }
        unsent.insert(
            contentsOf: inFlight.lazy.map { batch in
                var again = batch
                again.applied = false
                return again
            }, at: 0)
        inFlight.removeAll(keepingCapacity: true)
    }

    /// This daemon lost its lease: nothing it queued may reach Redis.
    private func failQueued() {
        queued.prepend(contentsOf: unsent.flatMap(\.writes))
        unsent.removeAll()
        let failed = queued.removeAll()
        Self.forEachProviderRun(failed) { $0.confirmed($1) }
        for write in failed {
            if let ticket = write.ticket { thread.complete(ticket, failed: true) }
        }
    }

    /// Calls `body` once per run of consecutive writes of one provider (one lock each).
    private static func forEachProviderRun(
        _ writes: ArraySlice<MirrorWrite>, _ body: (Provider, ArraySlice<MirrorWrite>) -> Void
    ) {
        var start = writes.startIndex
        while start < writes.endIndex {
            let provider = writes[start].provider
            var end = start + 1
            while end < writes.endIndex && writes[end].provider === provider { end += 1 }
            body(provider, writes[start..<end])
            start = end
        }
    }

    // MARK: Write timeout

    /// Answers `-UNAVAILABLE` to requests whose writes waited past the write timeout (the
    /// writes stay queued and go to Redis when it is back), and marks the mirror stalled.
    func expireOverdue(now: UInt64) {
        var allOverdue = true
        for index in inFlight.indices where allOverdue {
            allOverdue = expire(&inFlight[index].writes, now: now)
        }
        for index in unsent.indices where allOverdue {
            allOverdue = expire(&unsent[index].writes, now: now)
        }
        if allOverdue { queued.update { expire(&$0, now: now) } }
        updateStall(now: now)
    }

    /// Returns false once it met a write young enough (the rest are younger still).
    private func expire(_ writes: inout [MirrorWrite], now: UInt64) -> Bool {
        for index in writes.indices {
            guard expire(&writes[index], now: now) else { return false }
        }
        return true
    }

    /// Fails the reply waiting on `write` if it waited past the write timeout; false when it
    /// is young enough.
    private func expire(_ write: inout MirrorWrite, now: UInt64) -> Bool {
        let waited = now &- write.madeAt
        guard waited >= writeTimeoutNanos else { return false }
        if let ticket = write.ticket {
            // A draw's part: overdue for a BOOK (the mirror counts as stalled meanwhile), but
            // the DRAW waits `draw-timeout` for the whole draw, which can be millions of writes.
            if ticket.joint != nil && waited < drawTimeoutNanos { return true }
            thread.complete(ticket, failed: true)
            write.ticket = nil
        }
        return true
    }

    private func updateStall(now: UInt64) {
        let oldest =
            inFlight.first?.writes.first?.madeAt ?? unsent.first?.writes.first?.madeAt
            ?? queued.first?.madeAt
        let wasStalled = stalled
        stalled = oldest.map { now &- $0 >= writeTimeoutNanos } ?? false
        if stalled != wasStalled {
            if stalled {
                log.warning(
                    "redis is not confirming writes in time",
                    metadata: ["thread": "\(thread.index)"])
            }
            updateHealth()
        }
    }

    private func updateHealth() {
        thread.server.state.mirrorUp[thread.index].set(isUp)
    }

    private static func errorText(_ context: UnsafeMutablePointer<redisAsyncContext>) -> String {
        withUnsafeBytes(of: context.pointee.errstr) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}

/// hiredis callbacks: closures that capture nothing; the connection travels in `ac->data`.
enum MirrorCallbacks {
    static let onConnect: @convention(c) (UnsafePointer<redisAsyncContext>?, Int32) -> Void = {
        context, status in
        guard let data = context?.pointee.data else { return }
        Unmanaged<MirrorConnection>.fromOpaque(data).takeUnretainedValue().didConnect(
            status: status)
    }

    static let onDisconnect: @convention(c) (UnsafePointer<redisAsyncContext>?, Int32) -> Void = {
        context, status in
        guard let data = context?.pointee.data else { return }
        Unmanaged<MirrorConnection>.fromOpaque(data).takeUnretainedValue().didDisconnect(
            status: status)
    }

    static let onReply:
        @convention(c) (
            UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?,
            UnsafeMutableRawPointer?
        ) -> Void = { context, reply, _ in
            guard let data = context?.pointee.data else { return }
            Unmanaged<MirrorConnection>.fromOpaque(data).takeUnretainedValue()
                .didReceive(reply: reply?.assumingMemoryBound(to: redisReply.self))
        }
}
