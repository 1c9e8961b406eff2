/// A provider's queue of waiting holders: O(1) append and pop, O(log n) position and removal.
///
/// Every holder gets the next ticket when it joins. The queue keeps tickets contiguous by
/// leaving holders removed from the middle in place (they are skipped when they reach the
/// head), so a position is the distance to the head less the removed tickets in between.
public struct Waitlist {
    /// Holders in ticket order; `queue[i]` has ticket `baseTicket + i`. Includes removed ones.
    private var queue: [String] = []
    private var head = 0
    private var baseTicket = 0
    /// Live holders and their tickets.
    private var tickets: [String: Int] = [:]
    /// Tickets removed out of order that are still in `queue`, ascending.
    private var removedTickets: [Int] = []

    public init() {}

    public var count: Int { tickets.count }
    public var isEmpty: Bool { tickets.isEmpty }
    /// The ticket the next holder to join will get.
    public var nextTicket: Int { baseTicket + queue.count }

    /// 1-based position of `holder`, or nil when it is not waiting.
    public func position(of holder: String) -> Int? {
        guard let ticket = tickets[holder] else { return nil }
        let headTicket = baseTicket + head
        return ticket - headTicket - removedBefore(ticket) + 1
    }

    public func contains(_ holder: String) -> Bool { tickets[holder] != nil }

    /// Adds `holder` at the end and returns its ticket. The holder must not be waiting already.
    @discardableResult
    public mutating func append(_ holder: String) -> Int {
        let ticket = nextTicket
        queue.append(holder)
        tickets[holder] = ticket
        return ticket
    }

    /// Removes `holder` wherever it stands. Returns false when it was not waiting.
    public mutating func remove(_ holder: String) -> Bool {
        guard let ticket = tickets.removeValue(forKey: holder) else { return false }
        if ticket == baseTicket + head {
            head += 1
            skipRemovedAtHead()
        } else {
            removedTickets.insert(ticket, at: insertionIndex(ticket))
        }
        compactIfWorthIt()
        return true
    }

    /// Removes and returns the holder at the head of the queue.
    public mutating func popFirst() -> String? {
        guard !tickets.isEmpty else { return nil }
        let holder = queue[head]
        tickets[holder] = nil
        head += 1
        skipRemovedAtHead()
        compactIfWorthIt()
        return holder
    }

    /// Holders in order, head first.
    public var holders: [String] {
        (head..<queue.count).compactMap { index in
            let holder = queue[index]
            return tickets[holder] == baseTicket + index ? holder : nil
        }
    }

    private mutating func skipRemovedAtHead() {
        while let first = removedTickets.first, first == baseTicket + head {
            removedTickets.removeFirst()
            head += 1
        }
        if tickets.isEmpty {
            // Nothing live: the removed entries are all gone; restart from an empty queue.
            baseTicket = nextTicket
            queue.removeAll(keepingCapacity: true)
            head = 0
            removedTickets.removeAll()
        }
    }

    private mutating func compactIfWorthIt() {
        guard head >= 1024 && head * 2 >= queue.count else { return }
        queue.removeFirst(head)
        baseTicket += head
        head = 0
    }

    private func removedBefore(_ ticket: Int) -> Int { insertionIndex(ticket) }

    /// Index of the first removed ticket not below `ticket`.
    private func insertionIndex(_ ticket: Int) -> Int {
        var low = 0
        var high = removedTickets.count
        while low < high {
            let middle = (low + high) / 2
            if removedTickets[middle] < ticket { low = middle + 1 } else { high = middle }
        }
        return low
    }
}
