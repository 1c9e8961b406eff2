import CKezekShims
import CLibUV
import Glibc
import Logging

/// The operations listener (`admin-listen`): a tiny HTTP/1.x server on its own loop thread,
/// away from the booking loops.
///
///     GET /healthz   200 while the process serves
///     GET /readyz    200 when the state is loaded and Redis takes writes, else 503
///     GET /metrics   Prometheus text format (see `MetricsPage`)
public final class AdminHTTPServer {
    private let server: KezekServer
    private let loop = UnsafeMutablePointer<uv_loop_t>.allocate(capacity: 1)
    private let listener = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    /// Largest request head accepted; probes send a few hundred bytes.
    static let maxRequestBytes = 8192
    /// Pending probe connections; probes come one at a time.
    static let listenBacklog: Int32 = 64
    /// How often open exchanges are checked against `admin-request-timeout`.
    static let sweepMillis: UInt64 = 250

    /// Open exchanges, oldest first (admin loop thread only).
    private var open: [AdminExchange] = []
    private let sweepTimer = UnsafeMutablePointer<uv_timer_t>.allocate(capacity: 1)
    var settings: ServerSettings { server.settings }

    private init(server: KezekServer) {
        self.server = server
        uv_loop_init(loop)
        uv_timer_init(loop, sweepTimer)
    }

    /// Binds the admin address and serves it on a thread of its own.
    public static func start(server: KezekServer, log: Logger) throws {
        let admin = AdminHTTPServer(server: server)
        var address = sockaddr_storage()
        let endpoint = server.settings.adminListen
        guard kz_parse_endpoint(endpoint.host, Int32(endpoint.port), &address) == 0 else {
            throw KezekServer.StartFailure(description: "invalid admin-listen address \(endpoint)")
        }
        uv_tcp_init(admin.loop, admin.listener)
        admin.listener.pointee.data = Unmanaged.passRetained(admin).toOpaque()
        let status = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { uv_tcp_bind(admin.listener, $0, 0) }
        }
        let stream = UnsafeMutableRawPointer(admin.listener).assumingMemoryBound(to: uv_stream_t.self)
        guard status == 0, uv_listen(stream, Self.listenBacklog, AdminCallbacks.onConnection) == 0 else {
            throw KezekServer.StartFailure(description: "cannot listen on admin address \(endpoint): \(String(cString: uv_strerror(status)))")
        }
        admin.sweepTimer.pointee.data = Unmanaged.passUnretained(admin).toOpaque()
        uv_timer_start(admin.sweepTimer, AdminCallbacks.onSweep, Self.sweepMillis, Self.sweepMillis)
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            let admin = Unmanaged<AdminHTTPServer>.fromOpaque(argument!).takeUnretainedValue()
            uv_run(admin.loop, UV_RUN_DEFAULT)
            return nil
        }, Unmanaged.passUnretained(admin).toOpaque())
        pthread_detach(thread)
    }

    func accept() {
        let exchange = AdminExchange(server: self, openedAt: MonotonicClock.nanoseconds())
        uv_tcp_init(loop, exchange.handle)
        exchange.handle.pointee.data = Unmanaged.passRetained(exchange).toOpaque()
        let stream = UnsafeMutableRawPointer(listener).assumingMemoryBound(to: uv_stream_t.self)
        guard uv_accept(stream, exchange.stream) == 0 else {
            exchange.close()
            return
        }
        // Past the limit a connection is closed at once: probes must never use up the
        // process's file descriptors, which the booking port needs.
        guard open.count < settings.adminMaxConnections else {
            exchange.close()
            return
        }
        open.append(exchange)
        uv_read_start(exchange.stream, AdminCallbacks.onAlloc, AdminCallbacks.onRead)
    }

    func exchangeClosed(_ exchange: AdminExchange) {
        if let index = open.firstIndex(where: { $0 === exchange }) { open.remove(at: index) }
    }

    /// Closes exchanges that have not been answered within `admin-request-timeout`
    /// (silent or half-sent requests, clients that never read the response).
    func sweep() {
        let limit = UInt64(settings.adminRequestTimeout * 1e9)
        let now = MonotonicClock.nanoseconds()
        let overdue = open.prefix { now &- $0.openedAt >= limit }
        for exchange in overdue { exchange.close() }
    }

    /// Status line and body for a request head.
    func respond(to head: String) -> (status: String, contentType: String, body: String) {
        let requestLine = head.split(maxSplits: 1, whereSeparator: \.isNewline).first.map(String.init) ?? ""
        let parts = requestLine.split(separator: " ")
        guard parts.count >= 2 else { return ("400 Bad Request", "text/plain", "bad request\n") }
        guard parts[0] == "GET" || parts[0] == "HEAD" else { return ("405 Method Not Allowed", "text/plain", "only GET\n") }
        let path = parts[1].split(separator: "?").first.map(String.init) ?? ""
        switch path {
        case "/healthz":
            return ("200 OK", "text/plain", "ok\n")
        case "/readyz":
            let (isReady, detail) = server.readiness
            return (isReady ? "200 OK" : "503 Service Unavailable", "text/plain", detail + "\n")
        case "/metrics":
            return ("200 OK", "text/plain; version=0.0.4", MetricsPage(server: server).render())
        default:
            return ("404 Not Found", "text/plain", "not found\n")
        }
    }
}

/// One HTTP request and its response, then close.
final class AdminExchange {
    unowned let server: AdminHTTPServer
    let openedAt: UInt64
    let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    var received: [UInt8] = []
    static let readSize = 4096
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: AdminExchange.readSize, alignment: 1)
    /// The response bytes, alive until the write callback.
    private var response: UnsafeMutableRawBufferPointer?
    let writeRequest = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    let shutdownRequest = UnsafeMutablePointer<uv_shutdown_t>.allocate(capacity: 1)
    private var closed = false
    /// A response is being written: nothing more is read or sent on this connection.
    private var responded = false

    init(server: AdminHTTPServer, openedAt: UInt64) {
        self.server = server
        self.openedAt = openedAt
    }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self) }

    func received(_ bytes: UnsafeRawBufferPointer) {
        guard !responded else { return }
        received += bytes
        // The head ends at an empty line: CR LF CR LF, or bare LF LF from lenient clients.
        let end = received.firstRange(of: [13, 10, 13, 10]) ?? received.firstRange(of: [10, 10])
        guard (end?.lowerBound ?? received.count) <= AdminHTTPServer.maxRequestBytes else {
            send("431 Request Header Fields Too Large", "text/plain", "too large\n", head: false)
            return
        }
        guard let end else { return }
        let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
        let (status, type, body) = server.respond(to: head)
        send(status, type, body, head: head.hasPrefix("HEAD "))
    }

    /// Writes the one response of this connection, then shuts the sending side. Reading goes
    /// on (discarding) until the client closes, so unread request bytes never make the kernel
    /// reset the connection before the client has read the response (a lingering close).
    private func send(_ status: String, _ type: String, _ body: String, head: Bool) {
        responded = true
        received = []
        let text = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + (head ? "" : body)
        let bytes = Array(text.utf8)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        raw.copyBytes(from: bytes)
        response = raw
        writeRequest.pointee.data = handle.pointee.data
        var buffer = uv_buf_init(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(raw.count))
        if uv_write(writeRequest, stream, &buffer, 1, AdminCallbacks.onWrite) != 0 { close() }
    }

    func writeCompleted(status: Int32) {
        guard !closed else { return }
        guard status == 0 else { return close() }
        shutdownRequest.pointee.data = handle.pointee.data
        if uv_shutdown(shutdownRequest, stream, AdminCallbacks.onShutdown) != 0 { close() }
    }

    func close() {
        guard !closed else { return }
        closed = true
        server.exchangeClosed(self)
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), AdminCallbacks.onClose)
    }

    deinit {
        buffer.deallocate()
        response?.deallocate()
        handle.deallocate()
        writeRequest.deallocate()
        shutdownRequest.deallocate()
    }
}

/// libuv callbacks of the admin listener (context in `handle.data`, retained per exchange).
enum AdminCallbacks {
    static func exchange(_ data: UnsafeMutableRawPointer?) -> AdminExchange {
        Unmanaged<AdminExchange>.fromOpaque(data!).takeUnretainedValue()
    }

    static let onConnection: @convention(c) (UnsafeMutablePointer<uv_stream_t>?, Int32) -> Void = { listener, status in
        guard status == 0 else { return }
        Unmanaged<AdminHTTPServer>.fromOpaque(listener!.pointee.data!).takeUnretainedValue().accept()
    }

    static let onAlloc: @convention(c) (UnsafeMutablePointer<uv_handle_t>?, Int, UnsafeMutablePointer<uv_buf_t>?) -> Void = { handle, _, buffer in
        let exchange = exchange(handle!.pointee.data)
        buffer!.pointee = uv_buf_init(exchange.buffer.assumingMemoryBound(to: CChar.self), UInt32(AdminExchange.readSize))
    }

    static let onRead: @convention(c) (UnsafeMutablePointer<uv_stream_t>?, Int, UnsafePointer<uv_buf_t>?) -> Void = { stream, count, buffer in
        let exchange = exchange(stream!.pointee.data)
        if count > 0 {
            exchange.received(UnsafeRawBufferPointer(start: buffer!.pointee.base, count: count))
        } else if count < 0 {
            exchange.close()
        }
    }

    static let onWrite: @convention(c) (UnsafeMutablePointer<uv_write_t>?, Int32) -> Void = { request, status in
        exchange(request!.pointee.data).writeCompleted(status: status)
    }

    static let onShutdown: @convention(c) (UnsafeMutablePointer<uv_shutdown_t>?, Int32) -> Void = { _, _ in
        // The client closes next; its EOF (or the request timeout) closes the handle.
    }

    static let onSweep: @convention(c) (UnsafeMutablePointer<uv_timer_t>?) -> Void = { timer in
        Unmanaged<AdminHTTPServer>.fromOpaque(timer!.pointee.data!).takeUnretainedValue().sweep()
    }

    static let onClose: @convention(c) (UnsafeMutablePointer<uv_handle_t>?) -> Void = { handle in
        Unmanaged<AdminExchange>.fromOpaque(handle!.pointee.data!).release()
    }
}
