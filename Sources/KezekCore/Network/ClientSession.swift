/// What a client told the daemon about itself, kept for Redis compatibility: the protocol
/// version it chose with HELLO, the name it gave with CLIENT SETNAME or HELLO SETNAME (both
/// on its `ClientCard`, which CLIENT LIST reads from any thread), its id, whether it sent
/// MULTI (then nothing runs until EXEC or DISCARD), and whether Kezek's outcomes come to it as
/// bulk strings (`CLIENT REPLY-STYLE bulk`, for phpredis).
struct ClientSession: Sendable {
    let card: ClientCard
    var inTransaction = false
    var bulkReplies: Bool

    var id: Int { card.id }
    var protocolVersion: Int {
        get { card.told.withLock { $0.protocolVersion } }
        nonmutating set { card.told.withLock { $0.protocolVersion = newValue } }
    }
    var name: String? {
        get { card.told.withLock { $0.name } }
        nonmutating set { card.told.withLock { $0.name = newValue } }
    }
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
