import Synchronization

/// What the loop threads share besides the seat table: a few flags and counters.
public final class ServerState: Sendable {
    /// State has been loaded from Redis: data commands are served.
    public let ready = Atomic<Bool>(false)
    /// SIGTERM/SIGINT: stop accepting, answer what was read, then stop.
    public let draining = Atomic<Bool>(false)
    /// Loop threads that have stopped reading from their clients while draining.
    public let threadsStoppedReading = Atomic<Int>(0)
    /// The last client id handed out (CLIENT ID, HELLO's `id`).
    public let nextClientID = Atomic<Int>(0)
    /// When the daemon started (INFO's uptime).
    public let startedAt = MonotonicClock.nanoseconds()
    /// Open client connections on all threads (for max-clients).
    public let clients = Atomic<Int>(0)
    /// What all connections hold for their clients: unsent reply bytes plus a nominal
    /// `ClientConnection.bytesPerOpenSlot` per reply not yet decided (for
    /// max-total-output-bytes). Each connection adds the change of its own share.
    public let outputBytes = Atomic<Int>(0)
    /// Per loop thread: its Redis connection takes writes (connected and not stalled).
    public let mirrorUp: [AtomicFlag]
    /// What this daemon is for its key prefix (a `Role` raw value).
    public let role = Atomic<Int>(Role.starting.rawValue)
    /// The fencing epoch every mirror batch carries; 0 until the lease is first taken. A new
    /// epoch (after a repair) tells the loops to start their batch sequences afresh.
    public let epoch = Atomic<Int>(0)
    /// Monotonic nanoseconds until which the lease surely still holds (it was renewed at or
    /// after `this - lease-ttl` by Redis's clock, less a safety margin). Writes are refused
    /// after it, so a daemon that lost its lease stops before another can take over.
    public let leaseValidUntil = Atomic<UInt64>(0)
    /// A loop found Redis missing what it confirmed (or its epoch fenced): the lease keeper
    /// checks the lease and repairs.
    /// The epoch of the batch that found it, 0 when none.
    public let repairRequested = Atomic<Int>(0)
    /// On Redis Cluster: the directory knows a confirmed live holder for every shard (its
    /// slot map is whole). Always set off a cluster. Part of readiness, so a node does not
    /// report ready while its CLUSTER SLOTS would send a shard's clients to the wrong node.
    public let clusterMapComplete = AtomicFlag(true)

    public enum Role: Int, Sendable {
        /// Not yet holding the lease (trying for it, or loading).
        case starting
        /// Another live daemon holds the lease: wait and take over when it lapses.
        case standby
        /// Holds the lease and serves.
        case primary
        /// Holds the lease and is writing its whole state back after Redis lost data.
        case repairing
        /// Lost the lease to another daemon: serves nothing, exits.
        case fenced

        var name: String {
            switch self {
            case .starting: "starting"
            case .standby: "standby"
            case .primary: "primary"
            case .repairing: "repairing"
            case .fenced: "fenced"
            }
        }
    }

    public init(threads: Int) {
        mirrorUp = (0..<threads).map { _ in AtomicFlag(false) }
    }

    /// Every mirror connection takes writes.
    public var allMirrorsUp: Bool {
        mirrorUp.allSatisfy(\.isSet)
    }

    public var currentRole: Role { Role(rawValue: role.load(ordering: .acquiring)) ?? .starting }

    /// Writes may be made now: this daemon is the primary and its lease has not lapsed.
    public func mayWrite(now: UInt64) -> Bool {
        role.load(ordering: .acquiring) == Role.primary.rawValue
            && now < leaseValidUntil.load(ordering: .acquiring)
    }

    /// This daemon surely still holds its lease, so what it has in memory is the latest state
    /// and may be read. After it lapses another daemon may be writing.
    public func leaseHeld(now: UInt64) -> Bool {
        now < leaseValidUntil.load(ordering: .acquiring)
    }

    /// Ready for data: this daemon holds the lease, the state is loaded, every Redis
    /// connection takes writes and (on Redis Cluster) the slot map is whole. The one rule
    /// behind HEALTH and /readyz; `detail` names each.
    public var readiness: (isReady: Bool, detail: String) {
        let loaded = ready.load(ordering: .acquiring)
        let up = allMirrorsUp
        let role = currentRole
        let leased = mayWrite(now: MonotonicClock.nanoseconds())
        let mapped = clusterMapComplete.isSet
        return (
            loaded && up && leased && mapped,
            "mirror=\(up ? "up" : "down") state=\(loaded ? "ready" : "loading") role=\(role.name)\(role == .primary && !leased ? " lease=lapsed" : "")"
                + (mapped ? "" : " cluster=incomplete")
        )
    }
}
