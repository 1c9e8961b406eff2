// One non-blocking TCP connection on a libuv loop. It knows nothing of workloads: it queues
// encoded requests (with what its worker needs to match replies to them), writes them in
// batches (one uv_write in flight, the next batch accumulating), and feeds the bytes it reads
// to the line splitter. Its worker decides what to send and what a reply means.
import CLibUV

final class Connection {
    enum State { case idle, connecting, open, closed }

    unowned let worker: LoopWorker
    let id: Int
    private(set) var state = State.idle

    private let tcp: UnsafeMutablePointer<uv_tcp_t>
    private let connectReq: UnsafeMutablePointer<uv_connect_t>
    private let writeReq: UnsafeMutablePointer<uv_write_t>
    private var outgoing = ByteBuffer(capacity: 16 << 10)
    private var inFlightWrite = ByteBuffer(capacity: 16 << 10)
    private var writing = false
    private let readBuffer: UnsafeMutablePointer<CChar>
    static let readCapacity = 64 << 10

    var lines = LineSplitter()
    var pending = PendingRing()
    /// The next line is the payload of a bulk reply, not a reply of its own. Kezek replies are
    /// single lines; this only keeps the count right against a plain Redis (`--command`).
    var skipBulkPayload = false

    init(worker: LoopWorker, id: Int) {
        self.worker = worker
        self.id = id
        tcp = .allocate(capacity: 1)
        connectReq = .allocate(capacity: 1)
        writeReq = .allocate(capacity: 1)
        readBuffer = .allocate(capacity: Self.readCapacity)
    }

    deinit {
        // The tcp handle's memory is freed by its close callback (see UVRetain.close).
        if state == .idle { tcp.deallocate() }
        connectReq.deallocate()
        writeReq.deallocate()
        readBuffer.deallocate()
        outgoing.free()
        inFlightWrite.free()
        lines.free()
        pending.free()
    }

    /// Starts connecting; returns a libuv error code (0 on success).
    func connect(to target: TargetAddress) -> Int32 {
        var rc = uv_tcp_init(worker.loop, tcp)
        guard rc == 0 else { return rc }
        state = .connecting
        tcp.pointee.data = UVRetain.retained(self)
        _ = uv_tcp_nodelay(tcp, 1)
        connectReq.pointee.data = UVRetain.unretained(self)
        rc = target.withSockaddr { addr in
            uv_tcp_connect(connectReq, tcp, addr) { req, status in
                UVRetain.owner(req!.pointee.data, as: Connection.self).didConnect(status)
            }
        }
        if rc != 0 { close() }
        return rc
    }

    private func didConnect(_ status: Int32) {
        guard state == .connecting else {  // closed while connecting (timeout)
            worker.connectFinished(self, status: status == 0 ? UV_ECANCELED.rawValue : status)
            return
        }
        if status != 0 {
            close()
            worker.connectFinished(self, status: status)
            return
        }
        state = .open
        let rc = uv_read_start(
            uvStream(tcp),
            { handle, _, buf in
                let c = UVRetain.owner(handle!.pointee.data, as: Connection.self)
                buf!.pointee = uv_buf_init(c.readBuffer, UInt32(Connection.readCapacity))
            },
            { stream, nread, _ in
                UVRetain.owner(stream!.pointee.data, as: Connection.self).didRead(nread)
            })
        if rc != 0 {
            close()
            worker.connectFinished(self, status: rc)
            return
        }
        worker.connectFinished(self, status: 0)
    }

    private func didRead(_ nread: Int) {
        if nread > 0 {
            worker.received(
                self, UnsafeRawPointer(readBuffer).assumingMemoryBound(to: UInt8.self), nread)
        } else if nread < 0 {
            let reason =
                Int32(nread) == UV_EOF.rawValue ? "closed by server" : uvError(Int32(nread))
            close()
            worker.connectionLost(self, reason: reason)
        }
    }

    /// Queues bytes for the next write.
    @inline(__always)
    func enqueue(_ bytes: UnsafeRawBufferPointer) { outgoing.append(bytes) }

    /// Starts a write of everything queued, unless one is already in flight (its completion
    /// writes whatever has accumulated meanwhile).
    func flush() {
        guard state == .open, !writing, outgoing.count > 0 else { return }
        swap(&outgoing, &inFlightWrite)
        outgoing.removeAll()
        writeReq.pointee.data = UVRetain.unretained(self)
        var buf = uv_buf_init(
            UnsafeMutableRawPointer(inFlightWrite.base).assumingMemoryBound(to: CChar.self),
            UInt32(inFlightWrite.count))
        writing = true
        let rc = uv_write(writeReq, uvStream(tcp), &buf, 1) { req, status in
            UVRetain.owner(req!.pointee.data, as: Connection.self).didWrite(status)
        }
        if rc != 0 {
            writing = false
            close()
            worker.connectionLost(self, reason: "write: " + uvError(rc))
        }
    }

    private func didWrite(_ status: Int32) {
        writing = false
        inFlightWrite.removeAll()
        if status != 0 {
            if state == .open {
                close()
                worker.connectionLost(self, reason: "write: " + uvError(status))
            }
            return
        }
        flush()
    }

    /// Closes the socket (idempotent). The close callback drops the handle's reference.
    func close() {
        guard state == .connecting || state == .open else { return }
        state = .closed
        UVRetain.close(uvHandle(tcp))
    }
}
