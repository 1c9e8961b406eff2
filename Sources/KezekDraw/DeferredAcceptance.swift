/// Applicant-proposing deferred acceptance (Gale-Shapley), as the contract's "Allocation"
/// defines it: applicants propose to their choices in rank order; a provider keeps, among
/// those proposing to it, the best in its order (higher level first, then better lottery)
/// up to its free seats and rejects the rest, who propose to their next choice. The result is
/// the unique applicant-optimal stable matching, whatever order proposals are made in.
///
/// Implementation: each provider's tentative admits live in a max-heap (worst on top) in one
/// shared array, so a proposal costs O(log seats). Proposals start in lottery order, so with
/// no levels nobody is ever displaced and the run is random serial dictatorship, one pass.
public enum DeferredAcceptance {
    /// - Parameters:
    ///   - freeSeats: seats free at the draw at each provider (capacity - booked - offered).
    ///   - applications: every application; provider indices are within `freeSeats`.
    ///   - lotteryOrder: the applicants taking part, best lottery number first. An applicant
    ///     left out (a holder already at the per-holder limit) takes no seat and waits nowhere.
    public static func allocate(
        freeSeats: [Int], applications book: ApplicationBook,
        lotteryOrder: [Int32]
    ) -> Allocation {
        let applicants = book.count
        var lotteryRank = [Int32](repeating: -1, count: applicants)
        for (rank, a) in lotteryOrder.enumerated() {
            let firstTime = lotteryRank[Int(a)] == -1
            precondition(firstTime, "applicant \(a) appears twice in the lottery order")
            lotteryRank[Int(a)] = Int32(rank)
        }
        // Heap of provider p: heap[base[p] ..< base[p] + held[p]], at most freeSeats[p] keys.
        var base = [Int](repeating: 0, count: freeSeats.count + 1)
        for (p, seats) in freeSeats.enumerated() {
            let nonNegative = seats >= 0
            precondition(nonNegative, "negative free seats")
            base[p + 1] = base[p] + seats
        }
        var heap = [UInt64](repeating: 0, count: base[freeSeats.count])
        var held = [Int32](repeating: 0, count: freeSeats.count)
        // nextChoice[a]: the choice a is held at or will propose to next (choices(of:) offset).
        var nextChoice = [UInt8](repeating: 0, count: applicants)
        var proposals = 0, displaced = 0

        var pending = lotteryOrder.reversed() as [Int32]  // popLast gives the best first
        book.start.withUnsafeBufferPointer { start in
            book.provider.withUnsafeBufferPointer { choiceProvider in
                book.level.withUnsafeBufferPointer { choiceLevel in
                    heap.withUnsafeMutableBufferPointer { heap in
                        while let next = pending.popLast() {
                            let a = Int(next)
                            let first = Int(start[a]), end = Int(start[a + 1])
                            var r = first + Int(nextChoice[a])
                            while r < end {
                                proposals += 1
                                let p = Int(choiceProvider[r])
                                let key = PriorityKey.make(
                                    level: choiceLevel[r], lotteryRank: lotteryRank[a])
                                let seats = freeSeats[p], count = Int(held[p])
                                if count < seats {
                                    MaxHeap.push(key, into: heap, base: base[p], count: count)
                                    held[p] += 1
                                    break
                                }
                                if seats > 0, key < heap[base[p]] {
                                    let loser = PriorityKey.rank(heap[base[p]])
                                    MaxHeap.replaceTop(
                                        with: key, in: heap, base: base[p], count: count)
                                    let l = Int(lotteryOrder[loser])
                                    nextChoice[l] += 1
                                    pending.append(Int32(l))
                                    displaced += 1
                                    break
                                }
                                r += 1
                            }
                            nextChoice[a] = UInt8(r - first)
                        }
                    }
                }
            }
        }
        var placement = [Int8](repeating: -1, count: applicants)
        for a in 0..<applicants where lotteryRank[a] >= 0 {
            if Int(nextChoice[a]) < book.choices(of: a).count { placement[a] = Int8(nextChoice[a]) }
        }
        return Allocation(
            book: book, lotteryRank: lotteryRank, placement: placement,
            proposals: proposals, displaced: displaced)
    }
}

/// A provider's order as one integer, smaller = admitted first: higher level, then smaller
/// lottery rank.
enum PriorityKey {
    @inline(__always)
    static func make(level: UInt8, lotteryRank: Int32) -> UInt64 {
        UInt64(RankedChoice.maxLevel - Int(level)) << 32 | UInt64(UInt32(lotteryRank))
    }

    @inline(__always)
    static func rank(_ key: UInt64) -> Int { Int(key & 0xffff_ffff) }
}

/// Binary max-heaps laid out in slices of one buffer.
enum MaxHeap {
    @inline(__always)
    static func push(
        _ key: UInt64, into heap: UnsafeMutableBufferPointer<UInt64>, base: Int, count: Int
    ) {
        var i = count
        while i > 0 {
            let parent = (i - 1) / 2
            guard heap[base + parent] < key else { break }
            heap[base + i] = heap[base + parent]
            i = parent
        }
        heap[base + i] = key
    }

    @inline(__always)
    static func replaceTop(
        with key: UInt64, in heap: UnsafeMutableBufferPointer<UInt64>, base: Int, count: Int
    ) {
        var i = 0
        while true {
            let left = 2 * i + 1
            guard left < count else { break }
            var child = left
            if left + 1 < count, heap[base + left + 1] > heap[base + left] { child = left + 1 }
            guard heap[base + child] > key else { break }
            heap[base + i] = heap[base + child]
            i = child
        }
        heap[base + i] = key
    }
}
