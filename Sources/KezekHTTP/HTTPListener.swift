import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import KezekCore
import Logging
import NIOCore
import NIOPosix

/// One Hummingbird HTTP/1.1 listener on an event-loop thread of its own, with the limits
/// every Kezek listener has: a bounded request head, a bounded number of open connections
/// (a new one past the limit sheds the least recently active: `ConnectionRoster`), and a
/// deadline per connection.
enum HTTPListener {
    static func start(
        name: String, address: ServerSettings.Endpoint, router: Router<BasicRequestContext>,
        maxConnections: Int, deadline: Double, maxHeadBytes: Int, maxHeaderFields: Int,
        backlog: Int,
        tls: TLSConfiguration?, log: Logger
    ) throws {
        let started = StartSignal()
        // Every connection is accepted at once (none waits in the listen backlog behind idle
        // ones); the roster keeps the open ones within `maxConnections`.
        let roster = ConnectionRoster(limit: maxConnections)
        let http1 = HTTPServerBuilder.http1(
            configuration: .init(
                additionalChannelHandlers: [
                    RosteredConnection(roster: roster),
                    ConnectionDeadline(after: .nanoseconds(Int64(deadline * 1e9))),
                ],
                httpDecoderConfiguration: .init(
                    maxHeaderFieldSize: maxHeadBytes, maxHeaderListSize: maxHeadBytes,
                    maxHeaderFieldCount: maxHeaderFields)
            ))
        let application = Application(
            router: router,
            server: try tls.map { try .tls(http1, tlsConfiguration: $0) } ?? http1,
            configuration: .init(
                address: .hostname(address.host, port: address.port),
                serverName: nil,
                backlog: backlog,
                reuseAddress: true
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
                started.finish("cannot listen on \(name) address \(address): \(error)")
            }
        }
        if let failure = started.wait() {
            throw KezekServer.StartFailure(description: failure)
        }
    }
}

/// The outcome of binding a listener, handed from its task to the starting thread.
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
