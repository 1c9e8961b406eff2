import CKezekShims
import CLibUV
import Glibc
import Logging
import Synchronization

/// One event loop on its own thread: its listener on the shared port (SO_REUSEPORT), its
/// clients, its Redis connection and the mirror writes of the providers it owns.
///
/// Nothing crosses threads but the seat table, the outboxes, the completion inboxes below and
/// `uv_async_send`.
public final class LoopThread {
    public let index: Int
    unowned let server: KezekServer
    let settings: ServerSettings
    let loop: UnsafeMutablePointer<uv_loop_t>
    let executor: CommandExecutor
    let outbox: MirrorOutbox
    private(set) var mirror: MirrorConnection!
    let log: Logger
    let metrics: ThreadMetrics

    private let listener = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    private let tlsListener = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    private var listeningTLS = false
    private let checkHandle = UnsafeMutablePointer<uv_check_t>.allocate(capacity: 1)
    private let wakeHandle = UnsafeMutablePointer<uv_async_t>.allocate(capacity: 1)
    private let tickTimer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
    private let deferredTimer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
    private var deferred: (() -> Void)?
    private var listening = false

    /// Read buffer shared by all clients of this thread: a read is parsed at once.
    static let readBufferSize = 65536
    let readBuffer = UnsafeMutableRawPointer.allocate(
        byteCount: LoopThread.readBufferSize, alignment: 16)

    /// Replies that other threads' mirrors confirmed for this thread's clients.
    private let completionInbox = Mutex<[(ReplyTicket, Bool)]>([])
    private var completionsDrained: [(ReplyTicket, Bool)] = []
    /// Work other threads handed to this loop (a holder unit's answer, on redis-cluster).
    private let actionInbox = Mutex<[@Sendable () -> Void]>([])
    private var dirty: [ClientConnection] = []
    private var clients: [ObjectIdentifier: ClientConnection] = [:]
    /// Threads to wake at the end of this iteration (their outbox or inbox got something).
    private var wakeTargets: [Bool]
    private var anyWakeTarget = false
    private(set) var now: UInt64 = MonotonicClock.nanoseconds()
    private(set) var isStopping = false
    private var stoppedReading = false
    private var drainDeadline: UInt64 = 0
    private var pthread: pthread_t?
    private var limitLog = LimitLog()
    var authThrottle = AuthThrottle()

    init(index: Int, server: KezekServer, log: Logger) {
        self.index = index
        self.server = server
        self.settings = server.settings
        self.log = log
        self.outbox = server.outboxes[index]
        self.metrics = server.metrics.threads[index]
        loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
        uv_loop_init(loop)
        executor = CommandExecutor(server: server, threadIndex: index)
        wakeTargets = [Bool](repeating: false, count: server.settings.threads)
        mirror = MirrorConnection(
            thread: self, primary: server.redisPrimary, keys: server.keys,
            writeTimeout: settings.writeTimeout, drawTimeout: settings.drawTimeout, log: log)
        let context = UnsafeMutableRawPointer(Unmanaged.passUnretained(self).toOpaque())
        uv_check_init(loop, checkHandle)
        checkHandle.pointee.data = context
        uv_check_start(checkHandle, UVCallbacks.onCheck)
        uv_async_init(loop, wakeHandle, UVCallbacks.onWake)
        wakeHandle.pointee.data = context
        uv_timer_init(loop, tickTimer)
        tickTimer.pointee.data = context
        uv_timer_init(loop, deferredTimer)
        deferredTimer.pointee.data = context
    }

    /// Binds this thread's listener. Returns a libuv error code or 0.
    func listen(on address: UnsafePointer<sockaddr>) -> Int32 {
        listener.pointee.data = UnsafeMutableRawPointer(Unmanaged.passUnretained(self).toOpaque())
        let status = kz_tcp_listen_reuseport(
            loop, listener, address, Self.listenBacklog, UVCallbacks.onConnection)
        listening = status == 0
        return status
    }

    /// Binds this thread's listener on `tls-port`. Returns a libuv error code or 0.
    func listenTLS(on address: UnsafePointer<sockaddr>) -> Int32 {
        tlsListener.pointee.data = UnsafeMutableRawPointer(
            Unmanaged.passUnretained(self).toOpaque())
        let status = kz_tcp_listen_reuseport(
            loop, tlsListener, address, Self.listenBacklog, UVCallbacks.onTLSConnection)
        listeningTLS = status == 0
        return status
    }

    /// Starts the loop on a new thread.
    func start() {
        uv_timer_start(tickTimer, UVCallbacks.onTick, Self.tickMillis, Self.tickMillis)
        mirror.connect()
        pthread = NativeThread.start { uv_run(self.loop, UV_RUN_DEFAULT) }
    }

    func join() {
        if let pthread { pthread_join(pthread, nil) }
    }

    /// Wakes the loop (from any thread): for drained outboxes, completions and shutdown.
    func wake() { uv_async_send(wakeHandle) }

    static let tickMillis: UInt64 = 100
    /// Pending connections per listener (the kernel caps it at net.core.somaxconn).
    static let listenBacklog: Int32 = 511

    // MARK: Clients

    func accept(status: Int32, tls: Bool = false) {
        guard status == 0, !isStopping else { return }
        let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
        uv_tcp_init(loop, handle)
        let stream = UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
        let from = tls ? tlsListener : listener
        guard
            uv_accept(
                UnsafeMutableRawPointer(from).assumingMemoryBound(to: uv_stream_t.self), stream)
                == 0
        else {
            uv_close(
                UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self),
                UVCallbacks.onBareClose)
            return
        }
        uv_tcp_nodelay(handle, 1)
        let user = server.users.withLock { $0.passwordless }
        let maxRequestBytes =
            user == nil
            ? min(settings.unauthenticatedMaxRequestBytes, settings.maxRequestBytes)
            : settings.maxRequestBytes
        let connection = ClientConnection(
            thread: self, handle: handle, user: user, maxRequestBytes: maxRequestBytes)
        handle.pointee.data = UnsafeMutableRawPointer(Unmanaged.passRetained(connection).toOpaque())
        clients[ObjectIdentifier(connection)] = connection
        if tls {
            guard let context = server.tls?.context, let session = TLSSession(context) else {
                // Without memory for a session: the connection is not counted yet, so close it bare.
                clients[ObjectIdentifier(connection)] = nil
                uv_close(
                    UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self),
                    UVCallbacks.onClientClose)
                return
            }
            connection.startTLS(session)
        }
        server.openClients.add(connection.session.card)
        let open = server.state.clients.add(1, ordering: .relaxed).newValue
        metrics.connectionsAccepted.add()
        if open > settings.maxClients, let idlest = longestIdleClient(besides: connection) {
            // At max-clients a new connection (a health probe, say) takes the place of the
            // client that has been idle longest on this thread rather than being refused.
            metrics.connectionsShed.add()
            limitLog.note(
                .idleShed, now: refreshNow(), log: log, detail: "max-clients=\(settings.maxClients)"
            )
            idlest.close()
        } else if open > settings.maxClients {
            metrics.connectionsRejected.add()
            limitLog.note(
                .maxClients, now: refreshNow(), log: log,
                detail: "max-clients=\(settings.maxClients)")
            connection.reply(.maxClients)
            connection.closeAfterReplies()
            return
        }
        uv_read_start(stream, UVCallbacks.onAlloc, UVCallbacks.onRead)
    }

    /// The connection of this thread that owes no reply and has been silent longest, if for
    /// at least `idle-shed-after`; a client trickling a request stays fresh and is shed last
    /// (request-timeout ends it).
    private func longestIdleClient(besides newcomer: ClientConnection) -> ClientConnection? {
        guard settings.idleShedAfter > 0 else { return nil }
        let silentSince = refreshNow() &- UInt64(settings.idleShedAfter * 1e9)
        var idlest: ClientConnection?
        for connection in clients.values
        where connection !== newcomer && connection.isIdle && connection.lastActivity <= silentSince
        {
            if idlest.map({ connection.lastActivity < $0.lastActivity }) ?? true {
                idlest = connection
            }
        }
        return idlest
    }

    // MARK: CLIENT KILL

    /// Client ids CLIENT KILL named on another thread, to close on this one.
    private let killed = Mutex<[Int]>([])

    /// Closes the connection with this id on this loop (from any thread).
    func kill(clientID: Int) {
        killed.withLock { $0.append(clientID) }
        wake()
    }

    private func closeKilled() {
        let ids = killed.withLock { pending -> [Int] in
            defer { pending.removeAll() }
            return pending
        }
        guard !ids.isEmpty else { return }
        let wanted = Set(ids)
        for connection in clients.values where wanted.contains(connection.session.id) {
            connection.close()
        }
        // One that moved meanwhile is closed where it went.
        for id in ids {
            if let card = server.openClients.card(id), card.thread.load(ordering: .relaxed) != index
            {
                server.threads[card.thread.load(ordering: .relaxed)].kill(clientID: id)
            }
        }
    }

    // MARK: Moving connections (see ConnectionAffinity)

    /// Connections other threads handed over, to open on this loop.
    private let arrivals = Mutex<[ClientConnection.Transfer]>([])

    func move(_ connection: ClientConnection, to target: Int) {
        guard target != index, target < server.threads.count,
            !server.state.draining.load(ordering: .acquiring),
            let transfer = connection.detachForMove()
        else { return }
        metrics.connectionsMoved.add()
        server.threads[target].arrivals.withLock { $0.append(transfer) }
        wakeLater(target)
    }

    func connectionMoved(_ connection: ClientConnection) {
        clients[ObjectIdentifier(connection)] = nil
    }

    private func openArrivals() {
        let transfers = arrivals.withLock { pending -> [ClientConnection.Transfer] in
            defer { pending.removeAll() }
            return pending
        }
        for transfer in transfers {
            let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
            uv_tcp_init(loop, handle)
            guard uv_tcp_open(handle, transfer.socket) == 0 else {
                Glibc.close(transfer.socket)
                uv_close(
                    UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self),
                    UVCallbacks.onBareClose)
                server.state.clients.subtract(1, ordering: .relaxed)
                continue
            }
            let connection = ClientConnection(
                thread: self, handle: handle, user: nil, maxRequestBytes: settings.maxRequestBytes,
                session: transfer.session)
            connection.resume(from: transfer)
            handle.pointee.data = UnsafeMutableRawPointer(
                Unmanaged.passRetained(connection).toOpaque())
            clients[ObjectIdentifier(connection)] = connection
            uv_read_start(connection.stream, UVCallbacks.onAlloc, UVCallbacks.onRead)
            if stoppedReading { connection.stopReading() }
        }
    }

    func connectionClosed(_ connection: ClientConnection) {
        clients[ObjectIdentifier(connection)] = nil
        server.openClients.remove(connection.session.id)
        server.state.clients.subtract(1, ordering: .relaxed)
    }

    func markDirty(_ connection: ClientConnection) {
        dirty.append(connection)
    }

    // MARK: Mirror plumbing

    /// Delivers a confirmed (or failed) reply to its connection, on the connection's thread.
    func complete(_ ticket: ReplyTicket, failed: Bool) {
        var ticket = ticket
        var failed = failed
        if let joint = ticket.joint {
            guard let decision = joint.arrive(failed: failed), decision.deliver else { return }
            ticket.joint = nil
            failed = decision.failed
        }
        let target = ticket.thread
        if target == index {
            ticket.connection.complete(slot: ticket.slot, failed: failed)
        } else {
            server.threads[target].completionInbox.withLock { $0.append((ticket, failed)) }
            wakeLater(target)
        }
    }

    /// Runs `action` on this loop's thread soon (from any thread).
    func perform(_ action: @escaping @Sendable () -> Void) {
        actionInbox.withLock { $0.append(action) }
        wake()
    }

    /// Notes that thread `target` must be woken at the end of this iteration.
    func wakeLater(_ target: Int) {
        guard target != index, !wakeTargets[target] else { return }
        wakeTargets[target] = true
        anyWakeTarget = true
    }

    func noteBatchConfirmed(writes: Int) {
        metrics.mirrorBatches.add()
        metrics.mirrorWrites.add(writes)
    }

    func noteProtocolError(_ error: ProtocolError, on connection: ClientConnection) {
        metrics.protocolErrors.add()
        limitLog.note(
            .protocolError, now: now, log: log,
            detail: "\(error.message) from \(connection.logName)")
    }

    func noteAuthFailure(_ connection: ClientConnection) {
        metrics.authFailures.add()
        limitLog.note(
            .authFailure, now: now, log: log,
            detail: "peer \(connection.logName), failures on it \(connection.authFailures)")
    }

    func noteTLSFailure(_ reason: String, on connection: ClientConnection) {
        metrics.protocolErrors.add()
        limitLog.note(
            .tlsFailure, now: now, log: log, detail: "\(reason) from \(connection.logName)")
    }

    func noteBackpressure() {
        metrics.backpressurePauses.add()
        limitLog.note(.backpressure, now: now, log: log)
    }

    /// Asks for one more loop iteration (the check handle runs after it).
    func requestCheck() { wake() }

    /// Runs `action` once after `afterMillis` (used for Redis reconnects).
    func schedule(afterMillis: UInt64, _ action: @escaping () -> Void) {
        deferred = action
        uv_timer_start(deferredTimer, UVCallbacks.onDeferred, afterMillis, 0)
    }

    func runDeferred() {
        let action = deferred
        deferred = nil
        action?()
    }

    /// Reads the clock into `now` (once per read, not per request).
    func refreshNow() -> UInt64 {
        now = MonotonicClock.nanoseconds()
        return now
    }

    // MARK: Loop phases

    /// After each poll: take completions from other threads.
    func woke() {
        completionInbox.withLock { swap(&$0, &completionsDrained) }
        for (ticket, failed) in completionsDrained {
            ticket.connection.complete(slot: ticket.slot, failed: failed)
        }
        completionsDrained.removeAll(keepingCapacity: true)
        let actions = actionInbox.withLock { actions in
            defer { actions.removeAll(keepingCapacity: true) }
            return actions
        }
        for action in actions { action() }
        openArrivals()
        closeKilled()
        if server.state.draining.load(ordering: .acquiring) { beginDraining() }
    }

    /// Once per iteration: send this iteration's mirror batch, write replies, wake others.
    func check() {
        now = MonotonicClock.nanoseconds()
        mirror.flush(outbox: outbox)
        metrics.mirrorPending.set(mirror.pendingWriteCount)
        if !dirty.isEmpty {
            let connections = dirty
            dirty.removeAll(keepingCapacity: true)
            for connection in connections { connection.flush() }
        }
        if anyWakeTarget {
            for target in wakeTargets.indices where wakeTargets[target] {
                wakeTargets[target] = false
                server.threads[target].wake()
            }
            anyWakeTarget = false
        }
        if stoppedReading { finishDrainingIfDone() }
    }

    /// Every tick: refused counts to Redis, write timeouts, idle clients, drain deadline.
    func tick() {
        now = MonotonicClock.nanoseconds()
        if !authThrottle.isEmpty { authThrottle.releaseDue(now: now) }
        mirrorRefusedCounts()
        // Offers expire only while this daemon serves: a standby's (or a loading daemon's)
        // table follows Redis, and the expiry is the holder's to write.
        if index == 0, server.state.currentRole == .primary {
            server.rounds.expireDueOffers(rules: server.table.rules)
        }
        mirror.expireOverdue(now: now)
        if settings.idleTimeout > 0 {
            let limit = UInt64(settings.idleTimeout * 1e9)
            for connection in clients.values
            where connection.isIdle && now &- connection.lastActivity >= limit {
                limitLog.note(.idleTimeout, now: now, log: log)
                connection.close()
            }
        }
        if settings.requestTimeout > 0 {
            let limit = UInt64(settings.requestTimeout * 1e9)
            for connection in clients.values
            where connection.partialSince != 0 && now &- connection.partialSince >= limit {
                limitLog.note(.requestTimeout, now: now, log: log)
                connection.requestTimedOut()
            }
        }
        if stoppedReading { finishDrainingIfDone() }
    }

    /// Sends the refused counts that changed since the last tick (not on the booking path:
    /// a sold-out answer only bumps an atomic, and the first one since the last tick queues
    /// its provider). Idle, this costs nothing, whatever the size of the catalog.
    private func mirrorRefusedCounts() {
        guard server.state.ready.load(ordering: .acquiring), mirror.isUp else { return }
        for provider in outbox.drainRefusedChanged() {
            if var write = provider.refusedWriteIfChanged() { outbox.append(moving: &write) }
        }
    }

    // MARK: Graceful shutdown

    var isDraining: Bool { stoppedReading }

    /// Stop accepting and reading; every request already read is still answered.
    private func beginDraining() {
        guard !stoppedReading else { return }
        stoppedReading = true
        drainDeadline = MonotonicClock.nanoseconds() + UInt64(settings.drainTimeout * 1e9)
        if listening {
            listening = false
            uv_close(
                UnsafeMutableRawPointer(listener).assumingMemoryBound(to: uv_handle_t.self), nil)
        }
        if listeningTLS {
            listeningTLS = false
            uv_close(
                UnsafeMutableRawPointer(tlsListener).assumingMemoryBound(to: uv_handle_t.self), nil)
        }
        for connection in clients.values { connection.stopReading() }
        server.state.threadsStoppedReading.add(1, ordering: .acquiringAndReleasing)
        for thread in server.threads where thread !== self { thread.wake() }
    }

    /// Stops the loop once every thread stopped reading and this thread owes nothing: no
    /// unanswered client and no unconfirmed write (or the drain timeout passed).
    private func finishDrainingIfDone() {
        guard !isStopping else { return }
        // Refused counts go out every tick; the last ones, before the daemon stops (a +FULL
        // answered just before SIGTERM would otherwise not reach Redis).
        mirrorRefusedCounts()
        // Writes other threads made before they stopped reading may still sit in the outbox.
        mirror.flush(outbox: outbox)
        let everyoneStopped =
            server.state.threadsStoppedReading.load(ordering: .acquiring) == server.threads.count
        let owesNothing =
            everyoneStopped && !mirror.hasPendingWrites && !outbox.isHoldingWrites
            && clients.values.allSatisfy(\.isIdle)
        let overdue = MonotonicClock.nanoseconds() >= drainDeadline
        guard owesNothing || overdue else { return }
        if overdue && !owesNothing {
            log.warning(
                "drain timeout: stopping with unconfirmed writes",
                metadata: ["thread": "\(index)", "pending": "\(mirror.pendingWriteCount)"])
        }
        isStopping = true
        for connection in Array(clients.values) { connection.close() }
        mirror.close()
        for handle in [
            UnsafeMutableRawPointer(checkHandle), UnsafeMutableRawPointer(wakeHandle),
            UnsafeMutableRawPointer(tickTimer), UnsafeMutableRawPointer(deferredTimer),
        ] {
            uv_close(handle.assumingMemoryBound(to: uv_handle_t.self), nil)
        }
        uv_stop(loop)
    }
}
