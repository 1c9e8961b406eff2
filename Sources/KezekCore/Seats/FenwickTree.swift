/// Counts over slots `0..<count` with O(log n) point updates, prefix sums and appends
/// (a binary indexed tree). The waitlist keeps a 1 per live holder in it, so a holder's
/// position is a prefix sum.
struct FenwickTree {
    /// 1-based: `nodes[i]` sums the slots `(i - lowbit(i))..<i`.
    private var nodes: [Int] = [0]

    var count: Int { nodes.count - 1 }

    /// Appends a slot holding `value`.
    mutating func append(_ value: Int) {
        let index = nodes.count
        let lowbit = index & -index
        // The new node covers slots (index - lowbit)..<index: the value plus the slots before it.
        nodes.append(value + prefixSum(index - 1) - prefixSum(index - lowbit))
    }

    /// Adds `delta` to slot `slot`.
    mutating func add(_ delta: Int, at slot: Int) {
        var index = slot + 1
        while index < nodes.count {
            nodes[index] += delta
            index += index & -index
        }
    }

    /// The sum of slots `0..<end`.
    func prefixSum(_ end: Int) -> Int {
        var sum = 0
        var index = end
        while index > 0 {
            sum += nodes[index]
            index -= index & -index
        }
        return sum
    }

    mutating func removeAll(keepingCapacity: Bool = false) {
        nodes.removeAll(keepingCapacity: keepingCapacity)
        nodes.append(0)
    }

    mutating func reserveCapacity(_ capacity: Int) { nodes.reserveCapacity(capacity + 1) }
}
