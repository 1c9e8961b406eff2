/// What a client told the daemon about itself, kept for Redis compatibility: the protocol
/// version it chose with HELLO, the name it gave with CLIENT SETNAME or HELLO SETNAME, its
/// id, and whether it sent MULTI (then nothing runs until EXEC or DISCARD).
struct ClientSession: Sendable {
    let id: Int
    var protocolVersion = 2
    var name: String?
    var inTransaction = false

    var resp3: Bool { protocolVersion == 3 }
}

extension ClientConnection {
    var inTransaction: Bool {
        get { session.inTransaction }
        set { session.inTransaction = newValue }
    }

    /// How log lines name this connection: its client name when it gave one.
    var logName: String { session.name.map { "\(peerName) (\($0))" } ?? peerName }
}
