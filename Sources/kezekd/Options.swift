import ArgumentParser

/// The command line of kezekd. Every option is optional here: an absent flag falls back to
/// the environment, then the config file, then the default (see `Configuration`).
struct Options: ParsableArguments {
    static let configuration = CommandConfiguration(commandName: "kezekd", abstract: "Kezek seat-reservation daemon.")

    @Option(help: "YAML config file (flat `key: value`; keys as in docs/SETTINGS.md).") var config: String?
    @Option(help: "Client protocol address HOST:PORT (default 127.0.0.1:7379).") var listen: String?
    @Option(help: "Redis address HOST:PORT (default 127.0.0.1:6379).") var redis: String?
    @Option(help: "Event-loop threads (default: one per core).") var threads: String?
    @Option(help: "Client token for AUTH.") var token: String?
    @Option(name: .customLong("admin-token"), help: "Admin token for AUTH (needed for PROVIDER).") var adminToken: String?
    @Option(name: .customLong("holder-limit"), help: "Seats one holder may have across providers (0: no limit).") var holderLimit: String?
    @Option(name: .customLong("admin-listen"), help: "HTTP /healthz /readyz /metrics address (default 127.0.0.1:7380).") var adminListen: String?
    @Option(help: "Catalog CSV of providers created at start when Redis lacks them.") var catalog: String?
    @Option(name: .customLong("lease-ttl"), help: "Seconds the ownership lease lasts without renewal (default 5).") var leaseTTL: String?
    @Option(name: .customLong("node-id"), help: "This daemon's name in the lease (default the host name).") var nodeID: String?
    @Option(name: .customLong("redis-user"), help: "Redis ACL user (default none: the default user).") var redisUser: String?
    @Option(name: .customLong("redis-password"), help: "Redis password (requirepass or the ACL user's).") var redisPassword: String?
    @Option(name: .customLong("max-catalog-bytes"), help: "Largest catalog file read (default 67108864).") var maxCatalogBytes: String?
    @Option(name: .customLong("key-prefix"), help: "Prefix of every Redis key (default kezek).") var keyPrefix: String?
    @Option(name: .customLong("max-clients"), help: "Open client connections at most (default 10000).") var maxClients: String?
    @Option(name: .customLong("max-request-bytes"), help: "Longest inline line or RESP request (default 4096).") var maxRequestBytes: String?
    @Option(name: .customLong("max-unauthenticated-request-bytes"), help: "Longest request before AUTH when a token is set (default 256).") var maxUnauthenticatedRequestBytes: String?
    @Option(name: .customLong("max-pending-replies"), help: "Queued replies per connection before reads pause (default 1024).") var maxPendingReplies: String?
    @Option(name: .customLong("max-output-bytes"), help: "Unsent bytes per connection before reads pause (default 1048576).") var maxOutputBytes: String?
    @Option(name: .customLong("max-total-output-bytes"), help: "Unsent bytes of all connections together before reads pause (default 268435456).") var maxTotalOutputBytes: String?
    @Option(name: .customLong("waitlist-limit"), help: "Waitlist places per provider (default 100000).") var waitlistLimit: String?
    @Option(name: .customLong("max-capacity"), help: "Largest capacity PROVIDER accepts (default 10000000).") var maxCapacity: String?
    @Option(name: .customLong("redis-replicas"), help: "Replicas that must have each batch before a reply (Redis WAIT; default 0).") var redisReplicas: String?
    @Option(name: .customLong("write-timeout"), help: "Seconds BOOK/CANCEL wait for Redis before -UNAVAILABLE (default 2).") var writeTimeout: String?
    @Option(name: .customLong("drain-timeout"), help: "Seconds SIGTERM waits for Redis confirmations (default 10).") var drainTimeout: String?
    @Option(name: .customLong("idle-timeout"), help: "Seconds of silence before a client is closed (0: never).") var idleTimeout: String?
    @Option(name: .customLong("request-timeout"), help: "Seconds a request may take from first to last byte (default 10; 0: no limit).") var requestTimeout: String?
    @Option(name: .customLong("auth-max-failures"), help: "Failed AUTHs before a connection is closed (default 10).") var authMaxFailures: String?
    @Option(name: .customLong("auth-failure-delay"), help: "Seconds a failed AUTH's reply is held back (default 0.1).") var authFailureDelay: String?
    @Option(name: .customLong("admin-max-connections"), help: "Open admin HTTP connections at most (default 64).") var adminMaxConnections: String?
    @Option(name: .customLong("admin-request-timeout"), help: "Seconds an admin HTTP exchange may take (default 5).") var adminRequestTimeout: String?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).") var logLevel: String?

    /// The flag values by settings key.
    var flags: [String: String] {
        var values: [String: String] = [:]
        let pairs: [(String, String?)] = [
            ("listen", listen), ("redis", redis), ("threads", threads), ("token", token), ("admin-token", adminToken),
            ("holder-limit", holderLimit), ("admin-listen", adminListen), ("catalog", catalog), ("max-catalog-bytes", maxCatalogBytes), ("lease-ttl", leaseTTL), ("node-id", nodeID),
            ("redis-user", redisUser), ("redis-password", redisPassword), ("key-prefix", keyPrefix),
            ("max-clients", maxClients), ("max-request-bytes", maxRequestBytes),
            ("max-unauthenticated-request-bytes", maxUnauthenticatedRequestBytes), ("max-pending-replies", maxPendingReplies),
            ("max-output-bytes", maxOutputBytes), ("max-total-output-bytes", maxTotalOutputBytes), ("waitlist-limit", waitlistLimit), ("max-capacity", maxCapacity),
            ("write-timeout", writeTimeout), ("redis-replicas", redisReplicas), ("drain-timeout", drainTimeout), ("idle-timeout", idleTimeout),
            ("request-timeout", requestTimeout), ("auth-max-failures", authMaxFailures), ("auth-failure-delay", authFailureDelay),
            ("admin-max-connections", adminMaxConnections), ("admin-request-timeout", adminRequestTimeout), ("log-level", logLevel),
        ]
        for (key, value) in pairs { if let value { values[key] = value } }
        return values
    }
}
