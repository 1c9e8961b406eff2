/// A mirror connection's writes made but not sent yet, oldest first.
///
/// Batches leave from the front by moving a head index, not by shifting what stays: a backlog
/// of millions of writes (a draw at 10x the city, an opening at 100x) was copied whole once
/// per batch sent, quadratic in its length. The sent part is dropped once it is half the array.
struct PendingWrites {
    private var storage: [MirrorWrite] = []
    private var head = 0

    var isEmpty: Bool { head == storage.count }
    var count: Int { storage.count - head }
    var first: MirrorWrite? { isEmpty ? nil : storage[head] }
    /// The writes waiting, oldest first.
    var writes: ArraySlice<MirrorWrite> { storage[head...] }

    /// Adds `more` at the end and leaves it empty (its array is taken over when none wait).
    mutating func append(takingFrom more: inout [MirrorWrite]) {
        guard !more.isEmpty else { return }
        if isEmpty {
            storage.removeAll(keepingCapacity: true)
            head = 0
            swap(&storage, &more)
        } else {
            storage.moveAppend(from: &more, more.indices)
            more.removeAll(keepingCapacity: true)
        }
    }

    /// Puts `earlier` (writes to resend) before everything waiting.
    mutating func prepend(contentsOf earlier: some Collection<MirrorWrite>) {
        dropSent()
        storage.insert(contentsOf: earlier, at: 0)
    }

    /// Takes the next `count` writes. All of them hand the array over (the usual case: no
    /// copy), and `spare` (an emptied array kept for reuse) takes its place.
    mutating func take(_ count: Int, spare: @autoclosure () -> [MirrorWrite]) -> [MirrorWrite] {
        if head == 0 && count == storage.count {
            let all = storage
            storage = spare()
            return all
        }
        var batch: [MirrorWrite] = []
        batch.reserveCapacity(count)
        batch.moveAppend(from: &storage, head..<head + count)
        head += count
        if head == storage.count {
            storage.removeAll(keepingCapacity: true)
            head = 0
        } else if head >= storage.count / 2 {
            dropSent()
        }
        return batch
    }

    /// Calls `body` on each waiting write, oldest first, until it returns false.
    mutating func update(while body: (inout MirrorWrite) -> Bool) {
        var index = head
        while index < storage.count && body(&storage[index]) { index += 1 }
    }

    /// Empties it and returns what waited.
    mutating func removeAll() -> ArraySlice<MirrorWrite> {
        let waiting = writes
        storage = []
        head = 0
        return waiting
    }

    private mutating func dropSent() {
        guard head > 0 else { return }
        storage.removeFirst(head)
        head = 0
    }
}
