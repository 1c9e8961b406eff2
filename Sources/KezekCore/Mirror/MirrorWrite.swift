/// One change to mirror to Redis. Every write sets a fact ("H holds a seat at P", "P has
/// capacity C"), so sending it twice is harmless: that is what lets a lost batch be resent.
public enum MirrorOp: Sendable, Equatable {
    case book(holder: String)
    case unbook(holder: String)
    case enqueue(holder: String, score: Int)
    case dequeue(holder: String)
    case capacity(Int)
    /// An offer of a seat to `holder` until `expiresAt` (Unix milliseconds: it survives
    /// restarts); an offer counts as a held seat.
    case offer(holder: String, expiresAt: Int)
    case unoffer(holder: String)
    /// The round (and the rank of this provider among the holder's choices) that placed or
    /// queued the holder here.
    case tag(holder: String, round: String, rank: Int)
    /// A draw's part here: every holder it placed or queued here, "<holder> <rank> …", in one
    /// field (`RoundTagFields`).
    case tagPart(round: String, entries: String)
    /// Drops the holder's tag: its own field set to "-", which also masks it in any part.
    case untag(holder: String)
    /// A draw's new waitlist places here, scored `first`, `first + 1`, … in the order of
    /// `holders` ("<holder> <holder> …"): one field of the tags hash instead of a sorted-set
    /// member each, and the provider's highest score so far (`RoundTagFields`).
    case places(first: Int, last: Int, holders: String)
    /// `holder` left a waitlist place scored at most `score` (the highest score so far), so
    /// no draw's places field names it live again (`RoundTagFields`).
    case mask(holder: String, score: Int)
    /// A field of a hash that is not a provider's (a round's state and applications), written
    /// through a round's ledger (see `RoundLedger`).
    case field(key: String, field: String, value: String)
    case unfield(key: String, field: String)
    /// One entry of the provider's audit stream (`<prefix>:{P}:audit`), in the same batch as
    /// the change it records; `cause` names the round that made it, with the choice's rank.
    case audit(AuditOp, holder: String, cause: RoundTag?)
    case auditCapacity(Int)
    /// The provider's refused count so far (an absolute value: resending it is harmless).
    case refused(Int)
    /// Writes nothing: its ticket is released once every earlier write of the provider is
    /// confirmed (a read that must not reveal an unconfirmed change waits on it).
    case barrier
    /// Writes nothing: fills a number a BOOK took with its seat and gave back (the holder
    /// limit refused it), so the provider's numbering has no gap.
    case skipped

    /// The holder the write names, if any.
    var holder: String? {
        switch self {
        case .book(let holder), .unbook(let holder), .dequeue(let holder), .enqueue(let holder, _),
            .offer(let holder, _), .unoffer(let holder), .tag(let holder, _, _), .untag(let holder),
            .mask(let holder, _), .audit(_, let holder, _):
            holder
        case .capacity, .refused, .barrier, .skipped, .field, .unfield, .auditCapacity, .tagPart,
            .places:
            nil
        }
    }

    var isAudit: Bool {
        switch self {
        case .audit, .auditCapacity: true
        default: false
        }
    }

    /// The audit entry this change records, when it is one the audit stream lists (`nil` for
    /// tags, round fields, refused counts and barriers, and for the audit entries themselves).
    func auditEntry(cause: RoundTag?) -> MirrorOp? {
        switch self {
        case .book(let holder): .audit(.book, holder: holder, cause: cause)
        case .unbook(let holder): .audit(.unbook, holder: holder, cause: cause)
        case .offer(let holder, _): .audit(.offer, holder: holder, cause: cause)
        case .unoffer(let holder): .audit(.unoffer, holder: holder, cause: cause)
        case .enqueue(let holder, _): .audit(.wait, holder: holder, cause: cause)
        case .dequeue(let holder): .audit(.unwait, holder: holder, cause: cause)
        case .capacity(let capacity): .auditCapacity(capacity)
        default: nil
        }
    }

    /// Counted in `Provider.State.unconfirmed`: a change a reply could reveal.
    var changesState: Bool {
        switch self {
        case .refused, .barrier: false
        default: true
        }
    }
}

/// The operations of the audit stream (PROTOCOL.md "Transparency"). Replaying a provider's
/// stream from its start rebuilds its bookings, offers, capacity and waitlist.
public enum AuditOp: String, Sendable, Equatable, CaseIterable {
    case book, unbook, offer, unoffer, confirm, wait, unwait

    /// Position in `allCases`.
    var index: Int {
        switch self {
        case .book: 0
        case .unbook: 1
        case .offer: 2
        case .unoffer: 3
        case .confirm: 4
        case .wait: 5
        case .unwait: 6
        }
    }
}

/// Where the reply of a request waiting for Redis goes: a slot of a client connection, which
/// only its own loop thread may touch. A request whose writes travel on several Redis
/// connections (a draw) gives each part a ticket sharing one `JointReply`.
public struct ReplyTicket: @unchecked Sendable {
    let connection: ClientConnection
    let slot: Int
    var joint: JointReply?
    init(connection: ClientConnection, slot: Int, joint: JointReply? = nil) {
        self.connection = connection
        self.slot = slot
        self.joint = joint
    }
    var thread: Int { connection.threadIndex }
}

public struct MirrorWrite: Sendable {
    /// Not counted as a reference: providers live as long as the seat table (they are never
    /// removed), and a reference count on a hot provider is a cache line every thread that
    /// books there would write twice per write.
    public unowned(unsafe) let provider: Provider
    /// Set after `init` only to make a write in its array's own memory (`MirrorOutbox`).
    public internal(set) var op: MirrorOp
    /// Set on the last write of a request: once Redis confirms it, every earlier write of the
    /// provider is confirmed too (they travel in order on one connection).
    var ticket: ReplyTicket?
    /// Monotonic nanoseconds when the write was made, for the write timeout.
    let madeAt: UInt64
    /// Its place in the provider's order (a write that changes state: from 1; a barrier: the
    /// number it follows); 0 for a write with no place in it (the refused count). The owner's
    /// outbox passes a provider's writes on in this order, whichever thread queued them.
    var number = 0
    /// The next write belongs to the same request: a batch never ends after this one, so
    /// Redis applies all of a request's writes in one script call or none.
    var continues = false

    var isBarrier: Bool {
        if case .barrier = op { return true }
        return false
    }

    init(provider: Provider, op: MirrorOp, ticket: ReplyTicket?, madeAt: UInt64) {
        self.provider = provider
        self.op = op
        self.ticket = ticket
        self.madeAt = madeAt
    }

    /// A write with its place in the provider's order (a blank to fill in place, a skipped
    /// number). Note that Swift copies a write made and then appended or passed by value
    /// (this type is too large to be moved), so hot paths fill blanks or move (`moveAppend`).
    init(
        provider: Provider, op: MirrorOp, ticket: ReplyTicket?, madeAt: UInt64, number: Int,
        continues: Bool = false
    ) {
        self.provider = provider
        self.op = op
        self.ticket = ticket
        self.madeAt = madeAt
        self.number = number
        self.continues = continues
    }
}
