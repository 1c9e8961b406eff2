/// A provider's queue of waiting holders: O(log n) append, removal, position and pop, and
/// memory proportional to the holders waiting now.
///
/// Every holder gets the next ticket when it joins; tickets only grow (they become Redis
/// scores, which must keep their order across restarts). Holders sit in slots in ticket
/// order; a holder leaving from the middle leaves an empty slot and a 0 in the Fenwick tree
/// over the slots, so a position is the count of live slots up to the holder's. When empty
/// slots outnumber live ones, the slots are packed again (amortised O(1) per removal), so a
/// stuck head with holders joining and leaving behind it costs no memory.
public struct Waitlist {
    /// Holders by slot, in ticket order; nil where a holder left.
    private var slots: [String?] = []
    /// The ticket of each slot (ascending), to find a ticket's slot by binary search.
    private var slotTickets: [Int] = []
    /// 1 per live slot.
    private var live = FenwickTree()
    /// No live slot lies before this one.
    private var head = 0
    /// Live holders and their tickets.
    private var tickets: [String: Int] = [:]
    /// The ticket the next holder to join will get.
    public private(set) var nextTicket = 0
    /// Empty slots tolerated beyond the live count before the slots are packed.
    static let packingSlack = 64

    public init() {}

    public var count: Int { tickets.count }
    public var isEmpty: Bool { tickets.isEmpty }

    /// 1-based position of `holder`, or nil when it is not waiting.
    public func position(of holder: String) -> Int? {
        guard let ticket = tickets[holder] else { return nil }
        return live.prefixSum(slot(of: ticket) + 1)
    }

    public func contains(_ holder: String) -> Bool { tickets[holder] != nil }

    /// Makes room for `count` more holders at once (recovery appends a whole waitlist).
    public mutating func reserveCapacity(_ count: Int) {
        slots.reserveCapacity(slots.count + count)
        slotTickets.reserveCapacity(slotTickets.count + count)
        live.reserveCapacity(live.count + count)
        tickets.reserveCapacity(tickets.count + count)
    }

    /// Adds `holder` at the end and returns its ticket. The holder must not be waiting already.
    @discardableResult
    public mutating func append(_ holder: String) -> Int {
        let ticket = nextTicket
        nextTicket += 1
        slots.append(holder)
        slotTickets.append(ticket)
        live.append(1)
        tickets[holder] = ticket
        return ticket
    }

    /// Removes `holder` wherever it stands. Returns false when it was not waiting.
    public mutating func remove(_ holder: String) -> Bool {
        guard let ticket = tickets.removeValue(forKey: holder) else { return false }
        let slot = slot(of: ticket)
        slots[slot] = nil
        live.add(-1, at: slot)
        packIfSparse()
        return true
    }

    /// Removes and returns the holder at the head of the queue.
    public mutating func popFirst() -> String? {
        guard !tickets.isEmpty else { return nil }
        while slots[head] == nil { head += 1 }
        let holder = slots[head]!
        tickets[holder] = nil
        slots[head] = nil
        live.add(-1, at: head)
        head += 1
        packIfSparse()
        return holder
    }

    /// Holders in order, head first.
    public var holders: [String] {
        slots[head...].compactMap { $0 }
    }

    /// Calls `body` with every waiting holder in order, building no array of them.
    public func forEachHolder(_ body: (String) -> Void) {
        for slot in slots[head...] { if let holder = slot { body(holder) } }
    }

    /// Holders in order with their tickets (to write the whole waitlist back to Redis).
    public var entries: [(holder: String, ticket: Int)] {
        (head..<slots.count).compactMap { slot in slots[slot].map { ($0, slotTickets[slot]) } }
    }

    /// The slot of a live ticket: slot tickets ascend, so a binary search finds it.
    private func slot(of ticket: Int) -> Int {
        var low = 0
        var high = slotTickets.count
        while low < high {
            let middle = (low + high) / 2
            if slotTickets[middle] < ticket { low = middle + 1 } else { high = middle }
        }
        return low
    }

    /// Packs the live slots to the front once empty ones outnumber them (plus some slack).
    private mutating func packIfSparse() {
        guard slots.count > 2 * tickets.count + Self.packingSlack || tickets.isEmpty else { return }
        var packedSlots: [String?] = []
        var packedTickets: [Int] = []
        packedSlots.reserveCapacity(tickets.count)
        packedTickets.reserveCapacity(tickets.count)
        live.removeAll()
        live.reserveCapacity(tickets.count)
        for slot in head..<slots.count {
            guard let holder = slots[slot] else { continue }
            packedSlots.append(holder)
            packedTickets.append(slotTickets[slot])
            live.append(1)
        }
        slots = packedSlots
        slotTickets = packedTickets
        head = 0
    }

    /// Slots in use, live or empty (for tests: memory stays proportional to live holders).
    var slotCount: Int { slots.count }
}
