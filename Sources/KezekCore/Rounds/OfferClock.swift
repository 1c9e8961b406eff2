import Synchronization

/// When offers expire: a min-heap of (expiry, provider, holder) for the whole daemon. Loop
/// thread 0 looks at it every tick and expires what is due; an entry whose offer was
/// confirmed or declined meanwhile is simply found gone (`Provider.expire` checks).
public final class OfferClock: Sendable {
    struct Entry {
        var expiresAt: Int
        var provider: Provider
        var holder: String
    }

    private let heap = Mutex<[Entry]>([])

    func add(expiresAt: Int, provider: Provider, holder: String) {
        heap.withLock { heap in
            heap.append(Entry(expiresAt: expiresAt, provider: provider, holder: holder))
            var child = heap.count - 1
            while child > 0 {
                let parent = (child - 1) / 2
                guard heap[child].expiresAt < heap[parent].expiresAt else { break }
                heap.swapAt(child, parent)
                child = parent
            }
        }
    }

    /// Takes every entry due at `now` (Unix milliseconds), earliest first.
    func takeDue(now: Int) -> [Entry] {
        heap.withLock { heap in
            var due: [Entry] = []
            while let first = heap.first, first.expiresAt <= now {
                due.append(first)
                let last = heap.removeLast()
                guard !heap.isEmpty else { break }
                heap[0] = last
                var parent = 0
                while true {
                    let left = 2 * parent + 1, right = left + 1
                    var smallest = parent
                    if left < heap.count && heap[left].expiresAt < heap[smallest].expiresAt { smallest = left }
                    if right < heap.count && heap[right].expiresAt < heap[smallest].expiresAt { smallest = right }
                    guard smallest != parent else { break }
                    heap.swapAt(parent, smallest)
                    parent = smallest
                }
            }
            return due
        }
    }
}
