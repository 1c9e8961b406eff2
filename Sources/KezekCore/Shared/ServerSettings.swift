/// Everything the daemon runs with; docs/SETTINGS.md documents each field and its default.
public struct ServerSettings: Sendable {
    public struct Endpoint: Sendable, Equatable, CustomStringConvertible {
        public var host: String
        public var port: Int
        public init(host: String, port: Int) {
            self.host = host
            self.port = port
        }
        public var description: String {
            host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        }
    }

    public var listen = Endpoint(host: "127.0.0.1", port: 7379)
    public var redis = Endpoint(host: "127.0.0.1", port: 6379)
    /// Redis Sentinels to ask where the primary of `sentinelMaster` is (`sentinel`); empty:
    /// `redis` is the primary.
    public var sentinels: [Endpoint] = []
    public var sentinelMaster = "kezek"
    public var sentinelPassword: String?
    /// Seconds one Sentinel may take to connect and to answer before the next is asked
    /// (`sentinel-timeout`): Sentinels answer from memory.
    public var sentinelTimeout = 0.2
    /// Redis Cluster nodes to ask for the slot map (`redis-cluster`); empty: not a cluster.
    /// With them the daemon serves one shard (`shard-slot`) and `redis` is unused.
    public var clusterNodes: [Endpoint] = []
    /// The shard this daemon serves on Redis Cluster, named by its lowest slot (`shard-slot`).
    public var shardSlot = 0
    /// Seconds one Redis Cluster node may take to connect and to answer a read of the slot map
    /// or of a shard's holder before the next node is asked (`cluster-timeout`).
    public var clusterTimeout = 0.5
    public var adminListen = Endpoint(host: "127.0.0.1", port: 7380)
    /// The read-only public pages (`public-listen`): figures, rounds, draw.csv; no token.
    public var publicListen = Endpoint(host: "127.0.0.1", port: 7381)
    /// Open connections on the public listener (`public-max-connections`).
    public var publicMaxConnections = 256
    /// Seconds a public connection stays open (`public-request-timeout`).
    public var publicRequestTimeout = 10.0
    public var threads = 1
    public var token: String?
    public var adminToken: String?
    public var holderLimit = 0
    public var catalog: String?
    /// Largest catalog file read (`max-catalog-bytes`).
    public var maxCatalogBytes = 64 << 20
    public var keyPrefix = "kezek"
    /// Seconds the ownership lease of the key prefix lasts without renewal (`lease-ttl`); a
    /// standby takes over this long after the holder stopped renewing it.
    public var leaseTTL = 5.0
    /// This daemon's name in the lease (`node-id`); empty: the host name.
    public var nodeID = ""
    /// Credentials for a Redis with requirepass or ACLs (`redis-user`, `redis-password`).
    public var redisUser: String?
    public var redisPassword: String?
    /// Longest wait between retries while Redis refuses the credentials of a running daemon
    /// (`redis-auth-retry-max`); the wait doubles from 1 s up to it.
    public var redisAuthRetryMax = 10.0
    public var maxClients = 10_000
    public var maxRequestBytes = 4096
    public var maxPendingReplies = 1024
    public var maxOutputBytes = 1 << 20
    /// Unsent reply bytes (and undecided replies, 64 bytes each) of all connections together
    /// before the connections holding some stop being read (`max-total-output-bytes`).
    public var maxTotalOutputBytes = 256 << 20
    public var waitlistLimit = 100_000
    /// Seconds an offer (a draw's placement, or a freed seat given to a waitlist's head) stays
    /// open for CONFIRM (`offer-ttl`); 0: such seats are booked at once.
    public var offerTTL = 0.0
    public var maxCapacity = 10_000_000
    public var writeTimeout = 2.0
    /// Seconds ROUND DRAW waits for Redis to hold the whole draw (`draw-timeout`): its writes
    /// are exempt from `writeTimeout`, since at 10x the city they take longer than any BOOK.
    public var drawTimeout = 60.0
    /// Replicas that must have each batch before it counts as confirmed (`redis-replicas`,
    /// Redis WAIT); 0: the primary's word is enough.
    public var redisReplicas = 0
    /// Mirror batches each loop thread may have sent and not yet seen confirmed
    /// (`mirror-pipeline`): with more than one, Redis applies a batch while the loop gathers
    /// the next, instead of the two taking turns.
    public var mirrorPipeline = 2
    public var drainTimeout = 10.0
    public var idleTimeout = 0.0
    /// How Kezek's outcomes (`+BOOKED 3`, `+FULL p`, …) travel: `+` lines as Redis status
    /// replies, or bulk strings for clients that cannot read status replies as text (phpredis);
    /// a connection may choose with `CLIENT REPLY-STYLE` (`reply-style`).
    public enum ReplyStyle: String, Sendable { case simple, bulk }
    public var replyStyle = ReplyStyle.simple
    /// At max-clients, a new connection closes the client idle longest when it has been
    /// idle at least this many seconds, instead of being refused (`idle-shed-after`; 0: never).
    public var idleShedAfter = 1.0
    /// Seconds a request may take from its first byte to its last (`request-timeout`; 0: no
    /// limit), so a client trickling bytes cannot hold a connection forever.
    public var requestTimeout = 10.0
    /// Failed AUTHs one connection may make before it is closed (`auth-max-failures`).
    public var authMaxFailures = 10
    /// Seconds each failed AUTH's reply is held back (`auth-failure-delay`): guessing is slow.
    public var authFailureDelay = 0.1
    /// Failed AUTHs one client address may make within `authAddressWindow` before its AUTHs
    /// are refused unchecked until the window ends (`auth-address-max-failures`).
    public var authAddressMaxFailures = 100
    /// Seconds of that window (`auth-address-window`).
    public var authAddressWindow = 60.0
    /// ACL users, one `user NAME rule…` line each, as Redis's aclfile (`acl-file`).
    public var aclFile: String?

    /// TLS on the client port, Redis's way (`tls-port` and the `tls-*` files).
    public struct TLS: Sendable, Equatable {
        /// Client certificates: not asked for, checked when sent, or required (Redis's default).
        public enum AuthClients: String, Sendable { case no, optional, yes }
        public struct Protocols: OptionSet, Sendable, Equatable {
            public let rawValue: Int
            public init(rawValue: Int) { self.rawValue = rawValue }
            public static let tls12 = Protocols(rawValue: 1)
            public static let tls13 = Protocols(rawValue: 2)
        }
        /// The TLS port on `listen`'s host (`tls-port`; 0: none).
        public var port = 0
        public var certFile = ""
        public var keyFile = ""
        public var caCertFile: String?
        public var authClients = AuthClients.yes
        public var protocols: Protocols = [.tls12, .tls13]
        public init() {}
    }
    public var tls = TLS()
    /// HTTPS on the admin and public listeners with tls-cert-file and tls-key-file
    /// (`admin-tls`, `public-tls`).
    public var adminTLS = false
    public var publicTLS = false
    /// Open connections on the admin listener (`admin-max-connections`); a new one past it
    /// closes the least recently active.
    public var adminMaxConnections = 64
    /// Seconds an admin connection may take to send its request and read the response
    /// (`admin-request-timeout`).
    public var adminRequestTimeout = 5.0
    /// Longest request before AUTH when a token is set (`max-unauthenticated-request-bytes`):
    /// small, so an unauthenticated peer cannot make the daemon buffer much.
    public var unauthenticatedMaxRequestBytes = 256

    public init() {}
}
