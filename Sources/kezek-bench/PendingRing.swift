// Requests in flight on one connection, oldest first: the request's index in its batch and
// the time its latency is measured from. Replies come back in request order, so the head of
// the ring is always the request a reply answers. Grows by doubling; never shrinks.
struct PendingRing {
    private var indices: UnsafeMutablePointer<Int32>
    private var times: UnsafeMutablePointer<UInt64>
    private var mask: Int
    private var head = 0
    private(set) var count = 0

    init(capacity: Int = 64) {
        var c = 16
        while c < capacity { c <<= 1 }
        indices = .allocate(capacity: c)
        times = .allocate(capacity: c)
        mask = c - 1
    }

    @inline(__always)
    mutating func push(_ index: Int32, _ time: UInt64) {
        if count == mask + 1 { grow() }
        let slot = (head + count) & mask
        indices[slot] = index
        times[slot] = time
        count += 1
    }

    @inline(__always)
    mutating func pop() -> (index: Int32, time: UInt64)? {
        guard count > 0 else { return nil }
        let r = (indices[head], times[head])
        head = (head + 1) & mask
        count -= 1
        return r
    }

    /// Drops everything in flight (connection lost) and returns the indices dropped.
    mutating func drain() -> [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        while let p = pop() { out.append(p.index) }
        return out
    }

    private mutating func grow() {
        let old = mask + 1
        let newCap = old * 2
        let ni = UnsafeMutablePointer<Int32>.allocate(capacity: newCap)
        let nt = UnsafeMutablePointer<UInt64>.allocate(capacity: newCap)
        for k in 0..<count {
            ni[k] = indices[(head + k) & mask]
            nt[k] = times[(head + k) & mask]
        }
        indices.deallocate()
        times.deallocate()
        indices = ni
        times = nt
        head = 0
        mask = newCap - 1
    }

    func free() {
        indices.deallocate()
        times.deallocate()
    }
}
