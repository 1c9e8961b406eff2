import CLibUV
import Glibc

/// Every libuv callback, as closures that capture nothing. Context travels in `handle.data`:
/// a loop thread (unretained: threads live as long as the process) or a client connection
/// (retained when its handle opens, released in the close callback, never earlier).
/// All `Unmanaged` juggling of the server lives in this file.
enum UVCallbacks {
    static func thread(_ data: UnsafeMutableRawPointer?) -> LoopThread {
        Unmanaged<LoopThread>.fromOpaque(data!).takeUnretainedValue()
    }

    static func connection(_ data: UnsafeMutableRawPointer?) -> ClientConnection {
        Unmanaged<ClientConnection>.fromOpaque(data!).takeUnretainedValue()
    }

    static let onConnection: @convention(c) (UnsafeMutablePointer<uv_stream_t>?, Int32) -> Void = {
        server, status in
        thread(server!.pointee.data).accept(status: status)
    }

    static let onTLSConnection: @convention(c) (UnsafeMutablePointer<uv_stream_t>?, Int32) -> Void =
        { server, status in
            thread(server!.pointee.data).accept(status: status, tls: true)
        }

    static let onAlloc:
        @convention(c) (UnsafeMutablePointer<uv_handle_t>?, Int, UnsafeMutablePointer<uv_buf_t>?) ->
            Void = { handle, _, buffer in
                let loopThread = connection(handle!.pointee.data).thread
                buffer!.pointee = uv_buf_init(
                    loopThread.readBuffer.assumingMemoryBound(to: CChar.self),
                    UInt32(LoopThread.readBufferSize))
            }

    static let onRead:
        @convention(c) (UnsafeMutablePointer<uv_stream_t>?, Int, UnsafePointer<uv_buf_t>?) -> Void =
            { stream, count, buffer in
                let client = connection(stream!.pointee.data)
                if count > 0 {
                    client.receivedFromSocket(
                        UnsafeRawBufferPointer(start: buffer!.pointee.base, count: count))
                } else if count == Int(UV_EOF.rawValue) {
                    // The peer half-closed (shutdown SHUT_WR): answer what it sent, then close.
                    client.closeAfterReplies()
                } else if count < 0 {
                    // A reset or a read error: the peer is gone; its unsent replies go with it.
                    client.close()
                }
            }

    static let onWrite: @convention(c) (UnsafeMutablePointer<uv_write_t>?, Int32) -> Void = {
        request, status in
        let pending = request!.pointee.data.assumingMemoryBound(to: PendingWrite.self)
        let client = connection(pending.pointee.connection)
        PendingWrite.free(pending)
        client.writeCompleted(status: status)
    }

    static let onClientClose: @convention(c) (UnsafeMutablePointer<uv_handle_t>?) -> Void = {
        handle in
        Unmanaged<ClientConnection>.fromOpaque(handle!.pointee.data!).release()
        handle!.deallocate()
    }

    /// Close callback for a handle that never got a connection.
    static let onBareClose: @convention(c) (UnsafeMutablePointer<uv_handle_t>?) -> Void = {
        handle in
        handle!.deallocate()
    }

    static let onCheck: @convention(c) (UnsafeMutablePointer<uv_check_t>?) -> Void = { handle in
        thread(handle!.pointee.data).check()
    }

    static let onWake: @convention(c) (UnsafeMutablePointer<uv_async_t>?) -> Void = { handle in
        thread(handle!.pointee.data).woke()
    }

    static let onTick: @convention(c) (UnsafeMutablePointer<uv_timer_t>?) -> Void = { handle in
        thread(handle!.pointee.data).tick()
    }

    static let onDeferred: @convention(c) (UnsafeMutablePointer<uv_timer_t>?) -> Void = { handle in
        thread(handle!.pointee.data).runDeferred()
    }
}

/// A uv_write request with the bytes it sends (freed together in the write callback).
struct PendingWrite {
    var request: uv_write_t
    var bytes: UnsafeMutableRawPointer
    /// The client's `handle.data` (its retained connection).
    var connection: UnsafeMutableRawPointer?

    static func make(bytes source: ArraySlice<UInt8>, connection: UnsafeMutableRawPointer?)
        -> UnsafeMutablePointer<PendingWrite>
    {
        let pending = UnsafeMutablePointer<PendingWrite>.allocate(capacity: 1)
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: max(source.count, 1), alignment: 1)
        source.withUnsafeBytes { bytes.copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        pending.initialize(
            to: PendingWrite(request: uv_write_t(), bytes: bytes, connection: connection))
        pending.pointee.request.data = UnsafeMutableRawPointer(pending)
        return pending
    }

    static func free(_ pending: UnsafeMutablePointer<PendingWrite>) {
        pending.pointee.bytes.deallocate()
        pending.deinitialize(count: 1)
        pending.deallocate()
    }
}
