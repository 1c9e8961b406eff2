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

    public init(threads: Int) {
        mirrorUp = (0..<threads).map { _ in AtomicFlag(false) }
    }

    /// Every mirror connection takes writes.
    public var allMirrorsUp: Bool {
        mirrorUp.allSatisfy(\.isSet)
    }
}
