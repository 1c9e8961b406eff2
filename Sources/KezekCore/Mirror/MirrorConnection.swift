import CHiredis
import CKezekShims
import CLibUV
import Logging

/// One loop thread's asynchronous Redis connection, and the group commit that runs on it.
///
/// Once per loop iteration the writes made since the last one (for providers this thread owns)
/// go to Redis as one pipelined batch; when Redis has answered a batch's last command, the
/// replies waiting on it are released. A lost connection puts every unconfirmed write back in
/// front of the queue; they are resent, in order, after a reconnect with backoff (the writes
/// are idempotent, so a write Redis already had does no harm).
final class MirrorConnection {
    private unowned let thread: LoopThread
    private let endpoint: ServerSettings.Endpoint
    private let writeTimeoutNanos: UInt64
    private let log: Logger
    private var encoder: MirrorBatchEncoder
    private var context: UnsafeMutablePointer<redisAsyncContext>?
    private var connected = false
    /// Replies of a failed connection that hiredis still delivers are ignored.
    private var discardingReplies = false
    private var reconnectDelayMillis: UInt64 = 0
    static let minReconnectDelayMillis: UInt64 = 50
    static let maxReconnectDelayMillis: UInt64 = 1000
    /// Writes per batch at most, so one batch never grows without bound.
    static let maxWritesPerBatch = 8192
    /// Batches sent and not yet confirmed, at most. While one is in flight, new writes wait and
    /// go together when it is confirmed: under load the round trip itself gathers the batch
    /// (measured at -P 1 -c 50: 2 writes per batch when every iteration sent its own).
    static let maxBatchesInFlight = 1

    /// Made but not sent yet, oldest first.
    private var queued: [MirrorWrite] = []
    private var drained: [MirrorWrite] = []
    /// Emptied batch arrays kept for reuse, so a batch costs no allocation.
    private var spareArrays: [[MirrorWrite]] = []
    /// Sent, waiting for Redis, oldest first.
    private var inFlight: [Batch] = []
    private var inFlightHead = 0
    /// Writes waiting longer than the write timeout: the mirror counts as down meanwhile.
    private var stalled = false

    private struct Batch {
        var writes: [MirrorWrite]
        var commandsLeft: Int
    }

    init(thread: LoopThread, endpoint: ServerSettings.Endpoint, keys: KeyLayout, writeTimeout: Double, log: Logger) {
        self.thread = thread
        self.endpoint = endpoint
        self.writeTimeoutNanos = UInt64(writeTimeout * 1e9)
        self.log = log
        encoder = MirrorBatchEncoder(keys: keys)
    }

    var isUp: Bool { connected && !stalled }
    var hasPendingWrites: Bool { !queued.isEmpty || inFlightHead < inFlight.count }
    var pendingWriteCount: Int {
        queued.count + inFlight[inFlightHead...].reduce(0) { $0 + $1.writes.count }
    }

    // MARK: Connection

    func connect() {
        guard context == nil else { return }
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
        reconnectDelayMillis = 0
        log.info("redis connected", metadata: ["redis": "\(endpoint)", "thread": "\(thread.index)"])
        updateHealth()
        thread.requestCheck()
    }

    func didDisconnect(status: Int32) {
        // hiredis calls every pending reply callback with NULL before this, and frees the
        // context after it. Everything unconfirmed is sent again after the reconnect.
        let wasConnected = connected
        context = nil
        connected = false
        discardingReplies = false
        requeueInFlight()
        if wasConnected && !thread.isStopping {
            log.warning("redis disconnected", metadata: ["redis": "\(endpoint)", "thread": "\(thread.index)", "pending": "\(queued.count)"])
        }
        updateHealth()
        scheduleReconnect()
    }

    private func scheduleReconnect() {
        guard !thread.isStopping else { return }
        reconnectDelayMillis = min(max(reconnectDelayMillis * 2, Self.minReconnectDelayMillis), Self.maxReconnectDelayMillis)
        thread.schedule(afterMillis: reconnectDelayMillis) { [weak self] in self?.connect() }
    }

    func close() {
        if let context {
            redisAsyncDisconnect(context)
        }
    }

    // MARK: Group commit

    /// Takes the writes the outbox collected and sends them as one batch.
    func flush(outbox: MirrorOutbox) {
        outbox.drain(into: &drained)
        if !drained.isEmpty {
            if queued.isEmpty {
                swap(&queued, &drained)
            } else {
                queued.append(contentsOf: drained)
                drained.removeAll(keepingCapacity: true)
            }
        }
        guard connected, !discardingReplies, let context, !queued.isEmpty,
              inFlight.count - inFlightHead < Self.maxBatchesInFlight else { return }
        let count = min(queued.count, Self.maxWritesPerBatch)
        encoder.encode(queued[0..<count])
        var commandStart = 0
        encoder.bytes.withUnsafeBufferPointer { bytes in
            let base = UnsafeRawPointer(bytes.baseAddress!).assumingMemoryBound(to: CChar.self)
            for commandEnd in encoder.commandEnds {
                redisAsyncFormattedCommand(context, MirrorCallbacks.onReply, nil, base + commandStart, commandEnd - commandStart)
                commandStart = commandEnd
            }
        }
        if count == queued.count {
            // The usual case: hand the array over instead of copying it.
            inFlight.append(Batch(writes: queued, commandsLeft: encoder.commandEnds.count))
            queued = spareArrays.popLast() ?? []
        } else {
            inFlight.append(Batch(writes: Array(queued[0..<count]), commandsLeft: encoder.commandEnds.count))
            queued.removeFirst(count)
        }
        // Write now rather than on the next iteration's writable event: one loop turn less
        // per round trip. hiredis keeps write interest for whatever the socket did not take.
        redisAsyncHandleWrite(context)
    }

    func didReceive(reply: UnsafeMutablePointer<redisReply>?) {
        guard let reply, !discardingReplies else { return }
        guard inFlightHead < inFlight.count else { return }
        if reply.pointee.type == REDIS_REPLY_ERROR {
            // Redis refused a write (out of memory, read-only replica, disk error): nothing
            // after it counts as confirmed. Reconnect and resend from this batch on, in order.
            let text = reply.pointee.str.map { String(cString: $0) } ?? "?"
            log.error("redis refused a mirror write", metadata: ["error": "\(text)"])
            discardingReplies = true
            if let context { redisAsyncDisconnect(context) }
            return
        }
        inFlight[inFlightHead].commandsLeft -= 1
        guard inFlight[inFlightHead].commandsLeft == 0 else { return }
        var writes: [MirrorWrite] = []
        swap(&writes, &inFlight[inFlightHead].writes)
        inFlightHead += 1
        if inFlightHead == inFlight.count {
            inFlight.removeAll(keepingCapacity: true)
            inFlightHead = 0
        }
        for index in writes.indices {
            if let ticket = writes[index].ticket { thread.complete(ticket, failed: false) }
        }
        thread.noteBatchConfirmed(writes: writes.count)
        writes.removeAll(keepingCapacity: true)
        if spareArrays.count < 4 { spareArrays.append(writes) }
        if stalled { updateStall(now: MonotonicClock.nanoseconds()) }
    }

    private func requeueInFlight() {
        guard inFlightHead < inFlight.count else { return }
        var writes: [MirrorWrite] = []
        for batch in inFlight[inFlightHead...] { writes.append(contentsOf: batch.writes) }
        writes.append(contentsOf: queued)
        queued = writes
        inFlight.removeAll()
        inFlightHead = 0
    }

    // MARK: Write timeout

    /// Answers `-UNAVAILABLE` to requests whose writes waited past the write timeout (the
    /// writes stay queued and go to Redis when it is back), and marks the mirror stalled.
    func expireOverdue(now: UInt64) {
        for index in inFlightHead..<inFlight.count {
            guard expire(&inFlight[index].writes, now: now) else { break }
        }
        _ = expire(&queued, now: now)
        updateStall(now: now)
    }

    /// Returns false once it met a write young enough (the rest are younger still).
    private func expire(_ writes: inout [MirrorWrite], now: UInt64) -> Bool {
        for index in writes.indices {
            guard now &- writes[index].madeAt >= writeTimeoutNanos else { return false }
            if let ticket = writes[index].ticket {
                thread.complete(ticket, failed: true)
                writes[index].ticket = nil
            }
        }
        return true
    }

    private func updateStall(now: UInt64) {
        let oldest = inFlightHead < inFlight.count ? inFlight[inFlightHead].writes.first?.madeAt : queued.first?.madeAt
        let wasStalled = stalled
        stalled = oldest.map { now &- $0 >= writeTimeoutNanos } ?? false
        if stalled != wasStalled {
            if stalled { log.warning("redis is not confirming writes in time", metadata: ["thread": "\(thread.index)"]) }
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
    static let onConnect: @convention(c) (UnsafePointer<redisAsyncContext>?, Int32) -> Void = { context, status in
        guard let data = context?.pointee.data else { return }
        Unmanaged<MirrorConnection>.fromOpaque(data).takeUnretainedValue().didConnect(status: status)
    }

    static let onDisconnect: @convention(c) (UnsafePointer<redisAsyncContext>?, Int32) -> Void = { context, status in
        guard let data = context?.pointee.data else { return }
        Unmanaged<MirrorConnection>.fromOpaque(data).takeUnretainedValue().didDisconnect(status: status)
    }

    static let onReply: @convention(c) (UnsafeMutablePointer<redisAsyncContext>?, UnsafeMutableRawPointer?, UnsafeMutableRawPointer?) -> Void = { context, reply, _ in
        guard let data = context?.pointee.data else { return }
        Unmanaged<MirrorConnection>.fromOpaque(data).takeUnretainedValue()
            .didReceive(reply: reply?.assumingMemoryBound(to: redisReply.self))
    }
}
