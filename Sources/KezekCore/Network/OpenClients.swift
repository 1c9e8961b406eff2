import Synchronization

/// Every open client connection of the daemon, by id: CLIENT LIST and CLIENT KILL look
/// across loop threads. A connection is added when accepted and removed when closed (not
/// when it moves to another thread).
final class OpenClients: Sendable {
    private let cards = Mutex<[Int: ClientCard]>([:])

    func add(_ card: ClientCard) { cards.withLock { $0[card.id] = card } }
    func remove(_ id: Int) { _ = cards.withLock { $0.removeValue(forKey: id) } }
    func card(_ id: Int) -> ClientCard? { cards.withLock { $0[id] } }
    /// Every open connection's card, by id.
    var all: [ClientCard] { cards.withLock { Array($0.values) }.sorted { $0.id < $1.id } }
}
