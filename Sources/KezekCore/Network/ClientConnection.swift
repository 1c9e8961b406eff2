import CLibUV
import Glibc

/// One client: its bytes in, its replies out, in request order.
///
/// Replies live in a FIFO of slots. A reply known at once goes straight to the output when no
/// slot is open before it; one that waits for Redis holds a slot that the mirror fills later.
/// Once per loop iteration (the thread's check handle) the completed prefix is written with one
/// write. A connection with too many open slots or too much unsent output stops being read
/// until it drains (backpressure), so no client can grow the daemon's memory without limit.
public final class ClientConnection {
    public let threadIndex: Int
    unowned let thread: LoopThread
    let handle: UnsafeMutablePointer<uv_tcp_t>
    var parser: RequestParser
    /// The ACL user the connection authenticated as (nil: not yet), and its rights.
    private(set) var user: User?
    /// `user != nil` without a copy of the user (its strings retained and released), which
    /// comparing the optional made twice per request.
    var isSignedIn: Bool {
        if case .some = user { return true }
        return false
    }
    private(set) var rights = Rights()
    /// The TLS session of a connection to `tls-port` (nil: plain TCP).
    private(set) var tls: TLSSession?

    /// Bytes of a request that has not fully arrived yet.
    private var input: [UInt8] = []
    /// When the request in `input` began to arrive (0: no partial request). A request that
    /// does not complete within `request-timeout` closes the connection, however slowly
    /// its bytes keep trickling in.
    private(set) var partialSince: UInt64 = 0
    /// Encoded replies ready to send.
    private var output: [UInt8] = []
    private var slots: [Slot] = []
    private var slotHead = 0
    /// Number of the slot at `slots[0]`.
    private var slotBase = 0

    private(set) var isClosed = false
    private var closeWhenFlushed = false
    private var readsPaused = false
    private var writeInProgress = false
    /// Bytes handed to a uv_write that has not completed yet.
    private var bytesBeingWritten = 0
    private(set) var isDirty = false
    var lastActivity: UInt64
    var affinity = ConnectionAffinity()
    /// Failed AUTHs so far (see `AuthThrottle`).
    var authFailures = 0
    /// What the client said of itself, for Redis compatibility (HELLO, CLIENT, MULTI).
    var session: ClientSession

    private struct Slot {
        var reply: Reply
        var ready: Bool
        /// When the request was read, for the latency histogram.
        var readAt: UInt64
    }

    /// A connection just accepted (`session` nil: a new id and card), or one that moved here
    /// from another thread with its session.
    init(
        thread: LoopThread, handle: UnsafeMutablePointer<uv_tcp_t>, user: User?,
        maxRequestBytes: Int,
        session moved: ClientSession? = nil
    ) {
        self.thread = thread
        self.threadIndex = thread.index
        self.handle = handle
        let now = MonotonicClock.nanoseconds()
        session =
            moved
            ?? ClientSession(
                card: ClientCard(
                    id: thread.server.state.nextClientID.add(1, ordering: .relaxed).newValue,
                    address: Self.addressName(of: handle, local: false),
                    localAddress: Self.addressName(of: handle, local: true),
                    thread: thread.index, now: now),
                bulkReplies: thread.settings.replyStyle == .bulk)
        session.card.thread.store(thread.index, ordering: .relaxed)
        parser = RequestParser(maxRequestBytes: maxRequestBytes)
        lastActivity = now
        if let user { signIn(user) }
    }

    /// Makes `user` the connection's user (AUTH, or a passwordless default user).
    func signIn(_ user: User) {
        self.user = user
        rights = user.rights
        session.card.told.withLock { $0.user = user.name }
    }

    /// The number the next reply slot will have.
    var nextSlot: Int { slotBase + slots.count }
    var openSlots: Int { slots.count - slotHead }
    /// Nothing left to answer or to send.
    var isIdle: Bool { openSlots == 0 && output.isEmpty && !writeInProgress }

    // MARK: Input

    /// Takes bytes read from the socket: plaintext as they are, TLS records through the session.
    func receivedFromSocket(_ bytes: UnsafeRawBufferPointer) {
        guard let tls else {
            received(bytes)
            return
        }
        guard tls.feed(bytes) else {
            close()
            return
        }
        // The ciphertext is copied into the session: the read buffer takes the plaintext.
        let buffer = thread.readBuffer
        decrypting: while !isClosed && !closeWhenFlushed {
            switch tls.decrypt(into: buffer, size: LoopThread.readBufferSize) {
            case .plaintext(let count):
                received(UnsafeRawBufferPointer(start: buffer, count: count))
            case .needMore:
                break decrypting
            case .closedByPeer:
                closeAfterReplies()
            case .failed(let reason):
                thread.noteTLSFailure(reason, on: self)
                // The alert OpenSSL queued is sent, then the connection closes.
                closeAfterReplies()
            }
        }
        if tls.hasPendingOutput { markDirty() }
    }

    /// Makes this a TLS connection (just accepted on `tls-port`).
    func startTLS(_ session: TLSSession) {
        tls = session
    }

    /// Parses and executes every complete request in `bytes` (just read from the socket).
    func received(_ bytes: UnsafeRawBufferPointer) {
        lastActivity = thread.refreshNow()
        session.card.lastActivity.store(lastActivity, ordering: .relaxed)
        let used: Int
        if input.isEmpty {
            used = process(bytes)
            if used < bytes.count && !closeWhenFlushed {
                input.append(contentsOf: bytes[used...])
            }
        } else {
            input.append(contentsOf: bytes)
            used = input.withUnsafeBytes { process($0) }
            if closeWhenFlushed { input.removeAll() } else { input.removeFirst(used) }
        }
        if input.isEmpty {
            partialSince = 0
        } else if partialSince == 0 || used > 0 {
            // What is left began a new request in this read.
            partialSince = lastActivity
        }
        applyBackpressure()
    }

    /// Returns how many bytes were consumed by complete requests.
    private func process(_ bytes: UnsafeRawBufferPointer) -> Int {
        var offset = 0
        while offset < bytes.count && !closeWhenFlushed {
            let view = UnsafeRawBufferPointer(rebasing: bytes[offset...])
            switch parser.parse(view) {
            case .complete(let length):
                thread.executor.execute(view, parser: parser, on: self)
                offset += length
            case .empty(let length):
                offset += length
            case .needMore:
                return offset
            case .failure(let error):
                thread.noteProtocolError(error, on: self)
                reply(.error(error.message))
                closeAfterReplies()
                return bytes.count
            }
        }
        return offset
    }

    // MARK: Replies

    func reply(_ reply: Reply) {
        if slotHead == slots.count {
            reply.encode(into: &output)
            thread.metrics.latency.observe(nanos: 0)
        } else {
            slots.append(Slot(reply: reply, ready: true, readAt: lastActivity))
        }
        markDirty()
    }

    /// Opens a slot for a reply that is released when Redis confirms the request's writes.
    func replyAfterMirror(_ reply: Reply) {
        let early = PlantedBug.active == .ackBeforeRedis
        slots.append(Slot(reply: reply, ready: early, readAt: lastActivity))
        if early { markDirty() }
    }

    /// Fills slot `slot`: its reply as decided, or `-UNAVAILABLE` when the write failed or
    /// timed out. A slot already answered (a late confirmation after a timeout) is left alone.
    func complete(slot: Int, failed: Bool) {
        guard !isClosed else { return }
        let index = slot - slotBase
        guard index >= slotHead && index < slots.count && !slots[index].ready else { return }
        slots[index].ready = true
        if failed { slots[index].reply = .unavailable }
        markDirty()
    }

    /// Gives slot `slot`, opened by `replyAfterMirror`, the reply decided later (a BOOK that
    /// waited for its holder's unit): ready now, or when Redis confirms its writes.
    func decide(slot: Int, _ outcome: RequestOutcome) {
        guard !isClosed else { return }
        let index = slot - slotBase
        guard index >= slotHead && index < slots.count && !slots[index].ready else { return }
        switch outcome {
        case .now(let reply):
            slots[index].reply = reply
            slots[index].ready = true
            markDirty()
        case .afterMirror(let reply):
            slots[index].reply = reply
        }
    }

    /// The partial request took longer than `request-timeout`: say so, then close.
    func requestTimedOut() {
        partialSince = 0
        input = []
        reply(.requestTimeout)
        closeAfterReplies()
    }

    func closeAfterReplies() {
        closeWhenFlushed = true
        if !readsPaused {
            uv_read_stop(stream)
            readsPaused = true
        }
        markDirty()
    }

    private func markDirty() {
        guard !isDirty else { return }
        isDirty = true
        thread.markDirty(self)
    }

    // MARK: Output

    /// Moves completed replies to the output and writes it: called once per loop iteration.
    func flush() {
        isDirty = false
        guard !isClosed else { return }
        let now = thread.now
        while slotHead < slots.count && slots[slotHead].ready {
            slots[slotHead].reply.encode(into: &output)
            thread.metrics.latency.observe(nanos: now &- slots[slotHead].readAt)
            slotHead += 1
        }
        if slotHead == slots.count {
            slotBase += slots.count
            slots.removeAll(keepingCapacity: slots.capacity <= 4096)
            slotHead = 0
        } else if slotHead >= 1024 {
            slots.removeFirst(slotHead)
            slotBase += slotHead
            slotHead = 0
        }
        writeOutput()
        if closeWhenFlushed && isIdle {
            close()
            return
        }
        if isIdle, let target = affinity.target, !readsPaused {
            thread.move(self, to: target)
            return
        }
        applyBackpressure()
    }

    /// What a connection takes along when it moves to another loop thread.
    struct Transfer: @unchecked Sendable {
        let socket: Int32
        let user: User?
        let parser: RequestParser
        let input: [UInt8]
        let lastActivity: UInt64
        let session: ClientSession
        let tls: TLSSession?
    }

    /// Hands the socket over for a move: a duplicate of it goes along, this handle closes.
    /// Only for an idle connection (no reply owed), so no completion can come here later.
    func detachForMove() -> Transfer? {
        var descriptor: uv_os_fd_t = -1
        guard isIdle, !isClosed,
            uv_fileno(
                UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self),
                &descriptor) == 0
        else { return nil }
        let duplicate = dup(descriptor)
        guard duplicate >= 0 else { return nil }
        let transfer = Transfer(
            socket: duplicate, user: user, parser: parser, input: input, lastActivity: lastActivity,
            session: session, tls: tls)
        updateSharedOutput(0)
        isClosed = true
        input = []
        thread.connectionMoved(self)
        uv_close(
            UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self),
            UVCallbacks.onClientClose)
        return transfer
    }

    /// Takes over the parser state and unparsed bytes of a connection that moved here.
    func resume(from transfer: Transfer) {
        parser = transfer.parser
        input = transfer.input
        lastActivity = transfer.lastActivity
        session = transfer.session
        if let user = transfer.user { signIn(user) }
        tls = transfer.tls
    }

    private func writeOutput() {
        guard !writeInProgress else { return }
        if let tls {
            // The last replies of a closing connection go out with close_notify after them.
            guard tls.seal(&output, closing: closeWhenFlushed && openSlots == 0) else {
                close()
                return
            }
        }
        guard !output.isEmpty else { return }
        let written: Int32 = output.withUnsafeMutableBytes { raw in
            var buffer = uv_buf_init(
                raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(raw.count))
            return uv_try_write(stream, &buffer, 1)
        }
        if written == Int32(output.count) {
            output.removeAll(keepingCapacity: output.capacity <= 65536)
            return
        }
        if written < 0 && written != Int32(UV_EAGAIN.rawValue) {
            close()
            return
        }
        // The socket is full: hand the rest to uv_write, which owns a copy until it is done.
        let sent = max(0, Int(written))
        let rest = output.count - sent
        let request = PendingWrite.make(bytes: output[sent...], connection: handle.pointee.data)
        output.removeAll(keepingCapacity: output.capacity <= 65536)
        writeInProgress = true
        bytesBeingWritten = rest
        var buffer = uv_buf_init(
            request.pointee.bytes.assumingMemoryBound(to: CChar.self), UInt32(rest))
        let status = uv_write(&request.pointee.request, stream, &buffer, 1, UVCallbacks.onWrite)
        if status != 0 {
            writeInProgress = false
            PendingWrite.free(request)
            close()
        }
    }

    func writeCompleted(status: Int32) {
        writeInProgress = false
        bytesBeingWritten = 0
        guard !isClosed else { return }
        if status < 0 {
            close()
            return
        }
        markDirty()
    }

    /// Pauses reading while too much is queued for this client, or for all clients together
    /// (max-total-output-bytes) while this one holds some of it; resumes at half.
    private func applyBackpressure() {
        guard !isClosed else { return }  // close() gave its share back
        let pendingBytes = output.count + bytesBeingWritten
        let total = updateSharedOutput(pendingBytes + openSlots * Self.bytesPerOpenSlot)
        guard !closeWhenFlushed, !thread.isDraining else { return }
        let limits = thread.settings
        let holdsSome = sharedOutput > 0
        if !readsPaused {
            if openSlots >= limits.maxPendingReplies || pendingBytes >= limits.maxOutputBytes
                || (holdsSome && total >= limits.maxTotalOutputBytes)
            {
                uv_read_stop(stream)
                readsPaused = true
                thread.noteBackpressure()
            }
        } else if openSlots <= limits.maxPendingReplies / 2
            && pendingBytes <= limits.maxOutputBytes / 2
            && !(holdsSome && total > limits.maxTotalOutputBytes / 2)
        {
            readsPaused = false
            uv_read_start(stream, UVCallbacks.onAlloc, UVCallbacks.onRead)
        }
    }

    /// Memory an undecided reply is counted as in the shared output total.
    static let bytesPerOpenSlot = 64
    /// This connection's share of `ServerState.outputBytes`.
    private var sharedOutput = 0

    /// Sets this connection's share of the shared output total; returns the new total. One
    /// atomic add when the share changed, none otherwise.
    @discardableResult
    private func updateSharedOutput(_ share: Int) -> Int {
        let state = thread.server.state
        guard share != sharedOutput else { return state.outputBytes.load(ordering: .relaxed) }
        let delta = share - sharedOutput
        sharedOutput = share
        return state.outputBytes.add(delta, ordering: .relaxed).newValue
    }

    /// Stops reading for a graceful shutdown; what was read is still answered.
    func stopReading() {
        guard !isClosed, !readsPaused else { return }
        uv_read_stop(stream)
        readsPaused = true
    }

    // MARK: Closing

    func close() {
        guard !isClosed else { return }
        isClosed = true
        input = []
        output = []
        slots = []
        updateSharedOutput(0)
        thread.connectionClosed(self)
        uv_close(
            UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self),
            UVCallbacks.onClientClose)
    }

    var stream: UnsafeMutablePointer<uv_stream_t> {
        UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self)
    }
}
