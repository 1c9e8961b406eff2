import Hummingbird
import KezekCore
import Logging

/// The public listener (`public-listen`): read-only pages for families, journalists and the
/// city, no token. Same limits as the admin listener (bounded heads, connections, deadline),
/// its own event-loop thread; figures are read provider by provider, each lock held only to
/// copy a few numbers.
///
///     GET /                          figures by district and provider, with charts (HTML)
///     GET /providers.csv             provider,capacity,booked,offered,waiting,refused
///     GET /rounds/<round>            the round: state, commitment, seed, counts, charts (HTML)
///     GET /rounds/<round>/draw.csv   the published draw (PROTOCOL.md "Publication")
public enum PublicHTTPServer {
    /// Largest request head accepted; browsers send a kilobyte or two.
    static let maxRequestHeadBytes = 16384
    static let maxRequestHeaderFields = 100
    static let listenBacklog = 1024

    public static func start(server: KezekServer, log: Logger) throws {
        let settings = server.settings
        try HTTPListener.start(
            name: "public", address: settings.publicListen,
            router: PublicRoutes.router(server: server),
            maxConnections: settings.publicMaxConnections, deadline: settings.publicRequestTimeout,
            maxHeadBytes: maxRequestHeadBytes, maxHeaderFields: maxRequestHeaderFields,
            backlog: listenBacklog,
            tls: settings.publicTLS
                ? try HTTPTLS.configuration(settings.tls, clientCertificates: false) : nil, log: log
        )
    }
}
