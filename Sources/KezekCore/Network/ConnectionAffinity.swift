/// Which loop thread a connection would rather live on.
///
/// A request whose provider another thread owns costs two cross-thread hops (its write goes to
/// the owner's Redis connection, the confirmation comes back). A connection that keeps booking
/// at providers of one other thread, like a gateway session for one club or a load test of one
/// provider, moves there once it is quiescent; a connection booking all over never moves.
struct ConnectionAffinity {
    /// Durable requests in a row for one other thread's providers before a move.
    static let movesAfter = 64

    private var candidate = -1
    private var streak = 0

    /// Notes a request that waited for Redis on provider owner `owner` (`home` is where the
    /// connection lives now).
    mutating func note(owner: Int, home: Int) {
        if owner == home {
            streak = 0
        } else if owner == candidate {
            streak += 1
        } else {
            candidate = owner
            streak = 1
        }
    }

    /// The thread to move to, if the streak is long enough.
    var target: Int? { streak >= Self.movesAfter ? candidate : nil }
}
