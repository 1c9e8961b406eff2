// Draws ranks 0..<n with probability proportional to 1/(rank+1)^s: s = 0 is uniform, s = 1
// is classic Zipf (the top item gets about 1/ln(n) of all draws). Inverse CDF by binary search.
struct ZipfSampler {
    private let cdf: [Double]

    init(count n: Int, exponent s: Double) {
        let hasItems = n > 0
        precondition(hasItems, "ZipfSampler needs at least one item")
        var acc = 0.0
        var c = [Double]()
        c.reserveCapacity(n)
        for k in 0..<n {
            acc += 1.0 / pow(Double(k + 1), s)
            c.append(acc)
        }
        cdf = c.map { $0 / acc }
    }

    var count: Int { cdf.count }

    /// Probability of rank k.
    func probability(_ k: Int) -> Double { k == 0 ? cdf[0] : cdf[k] - cdf[k - 1] }

    func sample<G: RandomNumberGenerator>(using rng: inout G) -> Int {
        let u = Double(rng.next() >> 11) * 0x1.0p-53
        var lo = 0, hi = cdf.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if cdf[mid] > u { hi = mid } else { lo = mid + 1 }
        }
        return lo
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
