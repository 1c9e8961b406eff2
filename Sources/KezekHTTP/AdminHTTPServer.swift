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
/// and closed; at most `admin-max-connections` are open (more wait in the listen backlog,
/// holding no descriptor of ours); each connection is closed `admin-request-timeout` after it
/// opened, however far it got (`ConnectionDeadline`).
public enum AdminHTTPServer {
    /// Largest request head accepted; probes send a few hundred bytes.
    static let maxRequestHeadBytes = 8192
    /// Most header fields in one request head; probes send a handful.
    static let maxRequestHeaderFields = 100
    /// Pending probe connections beyond `admin-max-connections`; probes come one at a time.
    static let listenBacklog = 64

    /// Binds the admin address and serves it on a thread of its own. Returns once the
    /// listener is bound; a bind failure is thrown here, as the booking port's is.
    public static func start(server: KezekServer, log: Logger) throws {
        let settings = server.settings
        let started = StartSignal()
        let application = Application(
            router: AdminRoutes.router(state: server.state, metrics: MetricsPage(server: server)),
            server: .http1(configuration: .init(
                additionalChannelHandlers: [ConnectionDeadline(after: .nanoseconds(Int64(settings.adminRequestTimeout * 1e9)))],
                httpDecoderConfiguration: .init(maxHeaderFieldSize: maxRequestHeadBytes, maxHeaderListSize: maxRequestHeadBytes, maxHeaderFieldCount: maxRequestHeaderFields)
            )),
            configuration: .init(
                address: .hostname(settings.adminListen.host, port: settings.adminListen.port),
                serverName: nil,
                backlog: listenBacklog,
                reuseAddress: true,
                availableConnectionsDelegate: MaximumAvailableConnections(settings.adminMaxConnections, logger: log)
            ),
            onServerRunning: { _ in started.finish(nil) },
            eventLoopGroupProvider: .shared(MultiThreadedEventLoopGroup(numberOfThreads: 1)),
            logger: log
        )
        // Hummingbird is async; it runs in a task of its own. kezekd's own signal thread keeps
        // SIGTERM/SIGINT (no graceful-shutdown signals here): the process exit ends it.
        Task.detached {
            do {
                try await application.runService(gracefulShutdownSignals: [])
            } catch {
                started.finish("cannot listen on admin address \(settings.adminListen): \(error)")
            }
        }
        if let failure = started.wait() {
            throw KezekServer.StartFailure(description: failure)
        }
    }
}

/// The outcome of binding the admin listener, handed from its task to the starting thread.
private final class StartSignal: Sendable {
    private let outcome = LockedBox<String??>(nil)
    private let done = DispatchSemaphore(value: 0)

    /// Records the first outcome: nil when listening, else why not.
    func finish(_ failure: String?) {
        let first = outcome.withLock { value -> Bool in
            guard value == nil else { return false }
            value = .some(failure)
            return true
        }
        if first { done.signal() }
    }

    func wait() -> String? {
        done.wait()
        return outcome.withLock { $0 ?? nil }
    }
}
