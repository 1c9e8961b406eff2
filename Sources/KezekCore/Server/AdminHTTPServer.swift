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

    private init(server: KezekServer) {
        self.server = server
        uv_loop_init(loop)
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
        var thread = pthread_t()
        pthread_create(&thread, nil, { argument in
            let admin = Unmanaged<AdminHTTPServer>.fromOpaque(argument!).takeUnretainedValue()
            uv_run(admin.loop, UV_RUN_DEFAULT)
            return nil
        }, Unmanaged.passUnretained(admin).toOpaque())
        pthread_detach(thread)
    }

    func accept() {
        let exchange = AdminExchange(server: self)
        uv_tcp_init(loop, exchange.handle)
        exchange.handle.pointee.data = Unmanaged.passRetained(exchange).toOpaque()
        let stream = UnsafeMutableRawPointer(listener).assumingMemoryBound(to: uv_stream_t.self)
        guard uv_accept(stream, exchange.stream) == 0 else {
            exchange.close()
            return
        }
        uv_read_start(exchange.stream, AdminCallbacks.onAlloc, AdminCallbacks.onRead)
    }

    /// Status line and body for a request head.
    func respond(to head: String) -> (status: String, contentType: String, body: String) {
        let requestLine = head.split(separator: "\r\n", maxSplits: 1).first.map(String.init) ?? ""
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
    let handle = UnsafeMutablePointer<uv_tcp_t>.allocate(capacity: 1)
    var received: [UInt8] = []
    static let readSize = 4096
    let buffer = UnsafeMutableRawPointer.allocate(byteCount: AdminExchange.readSize, alignment: 1)
    /// The response bytes, alive until the write callback.
    private var response: UnsafeMutableRawBufferPointer?
    let writeRequest = UnsafeMutablePointer<uv_write_t>.allocate(capacity: 1)
    private var closed = false

    init(server: AdminHTTPServer) { self.server = server }

    var stream: UnsafeMutablePointer<uv_stream_t> { UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_stream_t.self) }

    func received(_ bytes: UnsafeRawBufferPointer) {
        received += bytes
        guard let end = received.firstRange(of: [13, 10, 13, 10]) else {
            if received.count > AdminHTTPServer.maxRequestBytes { send("431 Request Header Fields Too Large", "text/plain", "too large\n", head: false) }
            return
        }
        uv_read_stop(stream)
        let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
        let (status, type, body) = server.respond(to: head)
        send(status, type, body, head: head.hasPrefix("HEAD "))
    }

    private func send(_ status: String, _ type: String, _ body: String, head: Bool) {
        let text = "HTTP/1.1 \(status)\r\nContent-Type: \(type)\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n" + (head ? "" : body)
        let bytes = Array(text.utf8)
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 1)
        raw.copyBytes(from: bytes)
        response = raw
        writeRequest.pointee.data = handle.pointee.data
        var buffer = uv_buf_init(raw.baseAddress!.assumingMemoryBound(to: CChar.self), UInt32(raw.count))
        if uv_write(writeRequest, stream, &buffer, 1, AdminCallbacks.onWrite) != 0 { close() }
    }

    func close() {
        guard !closed else { return }
        closed = true
        uv_close(UnsafeMutableRawPointer(handle).assumingMemoryBound(to: uv_handle_t.self), AdminCallbacks.onClose)
    }

    deinit {
        buffer.deallocate()
        response?.deallocate()
        handle.deallocate()
        writeRequest.deallocate()
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

    static let onWrite: @convention(c) (UnsafeMutablePointer<uv_write_t>?, Int32) -> Void = { request, _ in
        exchange(request!.pointee.data).close()
    }

    static let onClose: @convention(c) (UnsafeMutablePointer<uv_handle_t>?) -> Void = { handle in
        Unmanaged<AdminExchange>.fromOpaque(handle!.pointee.data!).release()
    }
}
