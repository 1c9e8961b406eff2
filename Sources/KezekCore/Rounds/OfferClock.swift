import Synchronization

/// When offers expire: a min-heap of (expiry, provider, holder) for the whole daemon. Loop
/// thread 0 looks at it every tick and expires what is due; an entry whose offer was
/// confirmed or declined meanwhile is simply found gone (`Provider.expire` checks).
public final class OfferClock: Sendable {
    struct Entry {
        /// When to look at it (Unix milliseconds): its expiry, or earlier when put back by `unpark`.
        var dueAt: Int
        /// The offer's expiry: `Provider.expire` expires the offer only if it is still this one.
        var expiresAt: Int
        var provider: Provider
        var holder: String
    }

    private let heap = Mutex<[Entry]>([])
    private let parked = Mutex<[Entry]>([])

    func add(expiresAt: Int, provider: Provider, holder: String) {
        add(Entry(dueAt: expiresAt, expiresAt: expiresAt, provider: provider, holder: holder))
    }

    /// Keeps `entry` aside until `unpark`: an offer of a round still being drawn cannot expire
    /// before the draw ends. (Put back with its own expiry it was due again at once: a long draw
    /// had loop thread 0 looking at every one of its offers on every tick.)
    func park(_ entry: Entry) {
        parked.withLock { $0.append(entry) }
    }

    /// Every parked entry due again at `now` (a draw ended).
    func unpark(now: Int) {
        let entries = parked.withLock { parked in
            defer { parked.removeAll() }
            return parked
        }
        for var entry in entries {
            entry.dueAt = min(entry.dueAt, now)
            add(entry)
        }
    }

    private func add(_ entry: Entry) {
        heap.withLock { heap in
            heap.append(entry)
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].dueAt < heap[parent].dueAt else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
    }

    /// Takes every entry due at `now` (Unix milliseconds), earliest first.
    func takeDue(now: Int) -> [Entry] {
        heap.withLock { heap in
            var due: [Entry] = []
            while let first = heap.first, first.dueAt <= now {
                due.append(first)
                let last = heap.removeLast()
                guard !heap.isEmpty else { break }
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < heap.count && heap[left].dueAt < heap[smallest].dueAt {
                        smallest = left
                    }
                    if right < heap.count && heap[right].dueAt < heap[smallest].dueAt {
                        smallest = right
                    }
                    guard smallest != parent else { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return due
        }
    }
}
