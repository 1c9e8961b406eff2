import KezekCore
import Logging

extension Setting {
    /// Every setting of kezekd, in the order of docs/SETTINGS.md. Adding a setting is one
    /// entry here (and its field in `ServerSettings`); `make settings-doc` rewrites the docs.
    static let all: [Setting] = [
        .custom(
            "listen", default: "127.0.0.1:7379",
            "client protocol address (HOST:PORT, [V6]:PORT); port 0 turns the plain port off (with tls-port, TLS only), as Redis's `port 0`",
            apply: { configuration, source in
                configuration.settings.listen = try parseEndpoint(source, allowingPortZero: true)
            },
            current: { "\($0.settings.listen)" }),
        .integer(
            "tls-port", \.tls.port, 0...65535, default: "0 (none)",
            "TLS client port on listen's host: the same protocol, encrypted (Redis's tls-port); needs tls-cert-file and tls-key-file"
        ),
        .custom(
            "tls-cert-file", default: "none",
            "PEM certificate (chain) of tls-port; reread on SIGHUP",
            apply: { configuration, source in configuration.settings.tls.certFile = source.value },
            current: { $0.settings.tls.certFile.isEmpty ? "none" : $0.settings.tls.certFile }),
        .custom(
            "tls-key-file", default: "none", "PEM private key of tls-cert-file; reread on SIGHUP",
            apply: { configuration, source in configuration.settings.tls.keyFile = source.value },
            current: { $0.settings.tls.keyFile.isEmpty ? "none" : $0.settings.tls.keyFile }),
        .custom(
            "tls-ca-cert-file", default: "none",
            "PEM CA certificates that client certificates must chain to (needed unless tls-auth-clients is no); reread on SIGHUP",
            apply: { configuration, source in
                configuration.settings.tls.caCertFile =
                    source.value.isEmpty || source.value == "none" ? nil : source.value
            },
            current: { $0.settings.tls.caCertFile ?? "none" }),
        .custom(
            "tls-auth-clients", default: "yes",
            "client certificates on tls-port: no (not asked for), optional (checked when sent), yes (required), as Redis",
            apply: { configuration, source in
                guard
                    let value = ServerSettings.TLS.AuthClients(rawValue: source.value.lowercased())
                else {
                    throw ConfigurationError(source, "expected no, optional or yes")
                }
                configuration.settings.tls.authClients = value
            },
            current: { $0.settings.tls.authClients.rawValue }),
        .custom(
            "tls-protocols", default: "TLSv1.2 TLSv1.3",
            "TLS versions tls-port accepts: TLSv1.2, TLSv1.3 or both (separated by spaces)",
            apply: { configuration, source in
                var protocols: ServerSettings.TLS.Protocols = []
                for word in source.value.split(whereSeparator: { $0 == " " || $0 == "," }) {
                    switch word.lowercased() {
                    case "tlsv1.2": protocols.insert(.tls12)
                    case "tlsv1.3": protocols.insert(.tls13)
                    default: throw ConfigurationError(source, "expected TLSv1.2, TLSv1.3 or both")
                    }
                }
                guard !protocols.isEmpty else {
                    throw ConfigurationError(source, "expected TLSv1.2, TLSv1.3 or both")
                }
                configuration.settings.tls.protocols = protocols
            },
            current: { settings in
                [(ServerSettings.TLS.Protocols.tls12, "TLSv1.2"), (.tls13, "TLSv1.3")]
                    .filter { settings.settings.tls.protocols.contains($0.0) }.map(\.1).joined(
                        separator: " ")
            }),
        .endpoint(
            "redis", \.redis, default: "127.0.0.1:6379", "Redis server that mirrors all state"),
        .custom(
            "sentinel", default: "none",
            "Redis Sentinels (HOST:PORT,HOST:PORT,...) that say where the primary of sentinel-master is; kezekd follows its failovers, and redis is then unused",
            apply: { configuration, source in
                configuration.settings.sentinels = try parseEndpointList(source)
            },
            current: {
                $0.settings.sentinels.isEmpty
                    ? "none" : $0.settings.sentinels.map(\.description).joined(separator: ",")
            }),
        .custom(
            "sentinel-master", default: "kezek",
            "the name the Sentinels monitor the Redis primary under (1 to 128 characters, no spaces)",
            apply: { configuration, source in
                let value = source.value
                guard !value.isEmpty, value.count <= 128,
                    !value.contains(where: { $0.isWhitespace })
                else {
                    throw ConfigurationError(source, "expected 1 to 128 characters without spaces")
                }
                configuration.settings.sentinelMaster = value
            },
            current: { $0.settings.sentinelMaster }),
        .secret(
            "sentinel-password", \.sentinelPassword,
            "password of the Sentinels themselves (their requirepass), if they have one"),
        .seconds(
            "sentinel-timeout", \.sentinelTimeout, 0.01...60, default: "0.2",
            "seconds one Sentinel may take to connect and answer before the next one is asked"),
        .custom(
            "redis-cluster", default: "none",
            "Redis Cluster nodes (HOST:PORT,HOST:PORT,...) to ask for the slot map; kezekd then serves the one shard named by shard-slot, answers -MOVED for the others, follows the cluster's failovers, and redis is unused",
            apply: { configuration, source in
                configuration.settings.clusterNodes = try parseEndpointList(source)
            },
            current: {
                $0.settings.clusterNodes.isEmpty
                    ? "none" : $0.settings.clusterNodes.map(\.description).joined(separator: ",")
            }),
        .integer(
            "shard-slot", \.shardSlot, 0...16383, default: "0",
            "with redis-cluster: the shard this daemon serves, named by the lowest hash slot of its master (0, 5461, 10923 for redis-cli --cluster create with 3 masters)"
        ),
        .seconds(
            "cluster-timeout", \.clusterTimeout, 0.01...60, default: "0.5",
            "with redis-cluster: seconds one cluster node may take to connect and answer a read of the slot map or of a shard's holder"
        ),
        .integer("threads", \.threads, 1...256, default: "cores", "event-loop threads"),
        .secret("token", \.token, "client token for AUTH"),
        .secret("admin-token", \.adminToken, "admin token for AUTH; needed for PROVIDER when set"),
        .integer(
            "holder-limit", \.holderLimit, 0...1_000_000, default: "0 (no limit)",
            "most seats one holder may have across all providers; with redis-cluster counted at the holder's home master, across every shard (docs/SCALING.md)"
        ),
        .endpoint(
            "admin-listen", \.adminListen, default: "127.0.0.1:7380",
            "HTTP /healthz, /readyz, /metrics"),
        .custom(
            "catalog", default: "none",
            "CSV of providers (`provider,capacity[,...]`) created at start when Redis lacks them",
            apply: { configuration, source in
                configuration.settings.catalog = source.value.isEmpty ? nil : source.value
            },
            current: { $0.settings.catalog ?? "none" }),
        .integer(
            "max-catalog-bytes", \.maxCatalogBytes, 1024...1_073_741_824, default: "67108864",
            "largest catalog file read; a larger one (or a directory) stops kezekd with exit 2"),
        .custom(
            "key-prefix", default: "kezek",
            "prefix of every Redis key (1 to 64 characters, no spaces or braces)",
            apply: { configuration, source in
                let value = source.value
                guard !value.isEmpty, value.count <= 64,
                    !value.contains(where: { $0.isWhitespace || $0 == "{" || $0 == "}" })
                else {
                    throw ConfigurationError(
                        source, "expected 1 to 64 characters without spaces or braces")
                }
                configuration.settings.keyPrefix = value
            },
            current: { $0.settings.keyPrefix }),
        .seconds(
            "lease-ttl", \.leaseTTL, 0.5...3600, default: "5",
            "seconds the ownership lease of the key prefix lasts without renewal; a standby takes over this long after the holder stops, and a daemon that finds Redis empty waits this long before taking it"
        ),
        .custom(
            "node-id", default: "host name",
            "this daemon's name in the lease (1 to 128 characters, no spaces); the lease value adds the boot id, pid namespace and pid, so two processes never share one",
            apply: { configuration, source in
                let value = source.value
                guard !value.isEmpty, value.count <= 128,
                    !value.contains(where: { $0.isWhitespace })
                else {
                    throw ConfigurationError(source, "expected 1 to 128 characters without spaces")
                }
                configuration.settings.nodeID = value
            },
            current: { $0.settings.nodeID.isEmpty ? "host name" : $0.settings.nodeID }),
        .custom(
            "redis-user", default: "none", "Redis ACL user name",
            apply: { configuration, source in
                configuration.settings.redisUser = try Setting.parseSecret(source)
            },
            current: { $0.settings.redisUser ?? "none" }),
        .secret(
            "redis-password", \.redisPassword, "Redis password (requirepass, or the ACL user's)"),
        .seconds(
            "redis-auth-retry-max", \.redisAuthRetryMax, 1...3600, default: "10",
            "while Redis refuses the credentials of a running daemon (a password rotated under it), writes fail closed and every connection retries after 1 s, doubling up to this many seconds, with one log line per retry; at start, refused credentials stop kezekd with exit 2"
        ),
        .integer(
            "max-clients", \.maxClients, 1...1_000_000, default: "10000",
            "open client connections, all threads together"),
        .integer(
            "max-request-bytes", \.maxRequestBytes, 64...1_048_576, default: "4096",
            "longest inline line or whole RESP request"),
        .integer(
            "max-unauthenticated-request-bytes", \.unauthenticatedMaxRequestBytes, 16...1_048_576,
            default: "256",
            "longest request before AUTH when a token is set (capped at max-request-bytes)"),
        .integer(
            "max-pending-replies", \.maxPendingReplies, 1...1_000_000, default: "1024",
            "replies queued on one connection before its reads pause"),
        .integer(
            "max-output-bytes", \.maxOutputBytes, 1024...1_073_741_824, default: "1048576",
            "unsent reply bytes on one connection before its reads pause"),
        .integer(
            "max-total-output-bytes", \.maxTotalOutputBytes, 65536...68_719_476_736,
            default: "268435456",
            "unsent reply bytes of all connections together (an undecided reply counts 64) before every connection holding some stops being read"
        ),
        .integer(
            "waitlist-limit", \.waitlistLimit, 0...10_000_000, default: "100000",
            "waitlist places per provider; past it BOOK WAIT answers +FULL"),
        .seconds(
            "offer-ttl", \.offerTTL, 0...31_536_000, default: "0 (book at once)",
            "seconds an offer (a draw's placement, or a freed seat given to the head of a waitlist) waits for CONFIRM before it expires"
        ),
        .integer(
            "max-capacity", \.maxCapacity, 1...1_000_000_000, default: "10000000",
            "largest capacity PROVIDER accepts"),
        .seconds(
            "write-timeout", \.writeTimeout, 0.01...3600, default: "2",
            "seconds a BOOK/CANCEL waits for Redis before -UNAVAILABLE"),
        .seconds(
            "draw-timeout", \.drawTimeout, 0.01...3600, default: "60",
            "seconds ROUND DRAW waits for Redis to hold the whole draw before -UNAVAILABLE (its writes are not held to write-timeout)"
        ),
        .integer(
            "redis-replicas", \.redisReplicas, 0...64, default: "0",
            "replicas that must have each batch (Redis `WAIT`) before its replies are sent, so a failover to one of them loses nothing acknowledged"
        ),
        .integer(
            "mirror-pipeline", \.mirrorPipeline, 1...64, default: "2",
            "mirror batches each loop thread has sent to Redis and not yet seen confirmed; past it, writes wait for the oldest"
        ),
        .seconds(
            "drain-timeout", \.drainTimeout, 0...3600, default: "10",
            "seconds SIGTERM waits for Redis to confirm before exiting"),
        .custom(
            "reply-style", default: "simple",
            "how Kezek's outcomes (BOOKED 3, FULL p, …) are sent: simple (`+` status lines, as Redis) or bulk (bulk strings, for phpredis, which turns every status reply into true); a connection may choose with CLIENT REPLY-STYLE",
            apply: { configuration, source in
                guard let style = ServerSettings.ReplyStyle(rawValue: source.value.lowercased())
                else {
                    throw ConfigurationError(source, "expected simple or bulk")
                }
                configuration.settings.replyStyle = style
            },
            current: { $0.settings.replyStyle.rawValue }),
        .seconds(
            "idle-timeout", \.idleTimeout, 0...86400, default: "0 (off)",
            "seconds of silence after which a client is closed"),
        .seconds(
            "idle-shed-after", \.idleShedAfter, 0...86400, default: "1",
            "at max-clients, a new connection closes the client silent longest, when silent at least this many seconds, instead of being refused (so probes get in); 0: always refused"
        ),
        .seconds(
            "request-timeout", \.requestTimeout, 0...3600, default: "10",
            "seconds a request may take from its first byte to its last; then `-ERR request timeout` and close (0: no limit)"
        ),
        .integer(
            "auth-max-failures", \.authMaxFailures, 1...1_000_000, default: "10",
            "failed AUTHs after which a connection is closed"),
        .seconds(
            "auth-failure-delay", \.authFailureDelay, 0...60, default: "0.1",
            "seconds each failed AUTH's reply is held back"),
        .integer(
            "auth-address-max-failures", \.authAddressMaxFailures, 1...1_000_000, default: "100",
            "failed AUTHs one client address may make (all its connections together) within auth-address-window; past it, its AUTHs are refused unchecked until the window ends"
        ),
        .seconds(
            "auth-address-window", \.authAddressWindow, 1...86400, default: "60",
            "seconds over which auth-address-max-failures counts"),
        .custom(
            "acl-file", default: "none",
            "ACL users, one `user NAME on|off >password|#sha256|nopass +@gateway|+@monitor|+@admin|+@all|+cmd|-cmd …` line each, as Redis's aclfile; reloaded on SIGHUP (token and admin-token are the default and admin users)",
            apply: { configuration, source in
                configuration.settings.aclFile =
                    source.value.isEmpty || source.value == "none" ? nil : source.value
            },
            current: { $0.settings.aclFile ?? "none" }),
        .integer(
            "admin-max-connections", \.adminMaxConnections, 1...10_000, default: "64",
            "open connections on the admin listener; a new one past it closes the least recently active (idle first), so probes always get in"
        ),
        .seconds(
            "admin-request-timeout", \.adminRequestTimeout, 0.1...3600, default: "5",
            "seconds an admin connection stays open, however far its requests got"),
        .flag(
            "admin-tls", \.adminTLS,
            "HTTPS on admin-listen with tls-cert-file and tls-key-file (read at start), client certificates as tls-auth-clients says (yes or no)"
        ),
        .endpoint(
            "public-listen", \.publicListen, default: "127.0.0.1:7381",
            "read-only public HTTP pages, no token: / (figures by district), /providers.csv, /rounds/<round>, /rounds/<round>/draw.csv"
        ),
        .flag(
            "public-tls", \.publicTLS,
            "HTTPS on public-listen with tls-cert-file and tls-key-file (read at start; no client certificates) (yes or no)"
        ),
        .integer(
            "public-max-connections", \.publicMaxConnections, 1...100_000, default: "256",
            "open connections on the public listener; a new one past it closes the least recently active (idle first)"
        ),
        .seconds(
            "public-request-timeout", \.publicRequestTimeout, 0.1...3600, default: "10",
            "seconds a public connection stays open, however far its requests got"),
        .custom(
            "log-level", default: "info", "trace, debug, info, notice, warning, error, critical",
            apply: { configuration, source in
                guard let level = Logger.Level(rawValue: source.value.lowercased()) else {
                    throw ConfigurationError(
                        source, "expected trace, debug, info, notice, warning, error or critical")
                }
                configuration.logLevel = level
            },
            current: { "\($0.logLevel)" }),
    ]

    static let byKey: [String: Setting] = Dictionary(uniqueKeysWithValues: all.map { ($0.key, $0) })
}
