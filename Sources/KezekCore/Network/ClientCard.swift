import Synchronization

/// What CLIENT LIST and CLIENT INFO say of one connection. Its loop thread updates it (a
/// connection moved to another thread takes it along); any thread reads it.
final class ClientCard: Sendable {
    let id: Int
    let address: String
    let localAddress: String
    let openedAt: UInt64
    /// The loop thread the connection is on now (CLIENT KILL asks that thread to close it).
    let thread: Atomic<Int>
    let lastActivity: Atomic<UInt64>

    /// What the client told about itself: HELLO, CLIENT SETNAME, CLIENT SETINFO.
    struct Told: Sendable {
        var name: String?
        var protocolVersion = 2
        var libraryName: String?
        var libraryVersion: String?
        /// The ACL user it authenticated as.
        var user: String?
    }
    let told = Mutex(Told())

    init(id: Int, address: String, localAddress: String, thread: Int, now: UInt64) {
        self.id = id
        self.address = address
        self.localAddress = localAddress
        openedAt = now
        self.thread = Atomic(thread)
        lastActivity = Atomic(now)
    }

    /// The `key=value` line of CLIENT LIST and CLIENT INFO, in Redis's field order (fields
    /// that do not apply to Kezek say what a Redis client doing nothing says).
    func line(now: UInt64) -> String {
        let told = told.withLock { $0 }
        let age = (now &- openedAt) / 1_000_000_000
        let idle = (now &- lastActivity.load(ordering: .relaxed)) / 1_000_000_000
        return
            "id=\(id) addr=\(address) laddr=\(localAddress) fd=-1 name=\(told.name ?? "") age=\(age) idle=\(idle) flags=N db=0"
            + " sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem=0 tot-mem=0"
            + " events=r cmd=NULL user=\(told.user ?? "default") redir=-1 resp=\(told.protocolVersion)"
            + " lib-name=\(told.libraryName ?? "") lib-ver=\(told.libraryVersion ?? "")"
    }
}
