import CKezekShims

/// Failed AUTHs on one loop thread: each failure's reply is held back `auth-failure-delay`
/// seconds and a connection that fails `auth-max-failures` times is closed after its answers,
/// so a token cannot be guessed at wire speed (20,000 pipelined guesses once took 0.09 s).
/// Every failure is logged, rate-limited, with the peer's address.
struct AuthThrottle {
    /// Held replies, due in order (one delay for all, so appending keeps the order).
    private var held: [(due: UInt64, ticket: ReplyTicket)] = []
    private var head = 0

    var isEmpty: Bool { head == held.count }

    /// Holds the failure's reply in `ticket`'s slot until `due`.
    mutating func hold(_ ticket: ReplyTicket, until due: UInt64) {
        held.append((due, ticket))
    }

    /// Releases the replies that are due (called from the loop's tick).
    mutating func releaseDue(now: UInt64) {
        while head < held.count, held[head].due <= now {
            let ticket = held[head].ticket
            ticket.connection.complete(slot: ticket.slot, failed: false)
            head += 1
        }
        if head == held.count {
            held.removeAll(keepingCapacity: held.count <= 64)
            head = 0
        }
    }
}

extension ClientConnection {
    /// The peer's address as text, for log lines ("?" when the socket is gone).
    var peerName: String { Self.addressName(of: handle, local: false) }

    /// The peer's (or with `local`, this end's) address of a connected handle as text.
    static func addressName(of handle: UnsafePointer<uv_tcp_t>, local: Bool) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        guard
            (local
                ? kz_local_name(handle, &buffer, buffer.count)
                : kz_peer_name(handle, &buffer, buffer.count)) == 0
        else { return "?" }
        return String(cString: buffer)
    }
}
