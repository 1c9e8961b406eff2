import Foundation
import Hummingbird
import HummingbirdCore
import KezekCore
import Logging
import NIOCore
import NIOPosix

/// The operations listener (`admin-listen`): Hummingbird (HTTP/1.1 on SwiftNIO) on one event
/// loop thread of its own, away from the booking loops.
///
///     GET /healthz   200 while the process serves
///     GET /readyz    200 when the state is loaded and Redis takes writes, else 503
///     GET /metrics   Prometheus text format (see `MetricsPage`)
///
/// Limits against hostile clients: a request head over `maxRequestHeadBytes` is answered 400
/// and closed; at most `admin-max-connections` are open, and a new connection past that closes
/// the least recently active one (`ConnectionRoster`), so idle or trickling clients cannot
/// starve a probe; each connection is closed `admin-request-timeout` after it opened, however
/// far it got (`ConnectionDeadline`).
public enum AdminHTTPServer {
    /// Largest request head accepted; probes send a few hundred bytes.
    static let maxRequestHeadBytes = 8192
    /// Most header fields in one request head; probes send a handful.
    static let maxRequestHeaderFields = 100
    /// Connections the kernel holds until the listener accepts them (it accepts at once).
    static let listenBacklog = 1024

    /// Binds the admin address and serves it on a thread of its own. Returns once the
    /// listener is bound; a bind failure is thrown here, as the booking port's is.
    public static func start(server: KezekServer, log: Logger) throws {
        let settings = server.settings
        try HTTPListener.start(
            name: "admin", address: settings.adminListen,
            router: AdminRoutes.router(state: server.state, metrics: MetricsPage(server: server)),
            maxConnections: settings.adminMaxConnections, deadline: settings.adminRequestTimeout,
            maxHeadBytes: maxRequestHeadBytes, maxHeaderFields: maxRequestHeaderFields,
            backlog: listenBacklog,
            tls: settings.adminTLS
                ? try HTTPTLS.configuration(settings.tls, clientCertificates: true) : nil, log: log)
    }
}
