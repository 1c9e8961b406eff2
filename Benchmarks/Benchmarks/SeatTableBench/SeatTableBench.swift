// BOOK on the seat table, without the network, replies carrying no ticket (`ReplyTicket?` nil).
//
// - Distinct holders at one provider of huge capacity (2^40), from 1 thread and from 2 threads
//   contending for its lock. One iteration = 1,000 BOOKs (one op each, `.kilo`); a fresh provider
//   is made every 10 iterations, before the measurement starts, so it holds 0 to 10,000 holders
//   (the demo catalog's largest provider has 701 seats). With 2 threads each books 500 of the
//   1,000; handing them to Dispatch's pool is measured too (a few µs per iteration).
// - Sold-out answers (capacity 0) on 1 and 2 threads: one iteration = 1,000,000 BOOKs (`.mega`).
//
// The provider's writes go to its MirrorOutbox; the first booking thread drains it every 256
// BOOKs, as a loop thread would.
import Benchmark
import Dispatch
import KezekCore

private let holdersPerProvider = 10_000
private let drainEvery = 256

/// Distinct small-string holder ids ("holder:0000000": 14 bytes, stored inline, no heap).
private let holderPool: [String] = (0..<1_000_000).map { number in
    let digits = String(number)
    return "holder:" + String(repeating: "0", count: 7 - digits.count) + digits
}

private final class BookingRig: @unchecked Sendable {
    let capacity: Int
    let rules = Provider.BookingRules(waitlistLimit: 100_000, limits: HolderLimits(limit: 0))
    private(set) var table: SeatTable
    private(set) var provider: Provider
    private(set) var outbox: MirrorOutbox
    /// The next unused holder of `holderPool` for the current provider.
    private(set) var nextHolder = 0
    /// Each booking thread's drain target, capacity kept.
    var drained: [[MirrorWrite]] = [[], []]

    init(capacity: Int) {
        self.capacity = capacity
        (table, provider, outbox) = Self.make(capacity: capacity, rules: rules)
        for lane in drained.indices { drained[lane].reserveCapacity(4 * drainEvery) }
    }

    private static func make(capacity: Int, rules: Provider.BookingRules) -> (SeatTable, Provider, MirrorOutbox) {
        let outbox = MirrorOutbox()
        let table = SeatTable(outboxes: [outbox], rules: rules)
        let provider = table.providerCreatingIfNeeded("provider-17", capacity: capacity).provider
        return (table, provider, outbox)
    }

    /// The holders for the next `count` BOOKs; a fresh provider once this one has had its share.
    func takeHolders(_ count: Int) -> Range<Int> {
        if nextHolder + count > holdersPerProvider {
            outbox.drain(into: &drained[0])
            drained[0].removeAll(keepingCapacity: true)
            (table, provider, outbox) = Self.make(capacity: capacity, rules: rules)
            nextHolder = 0
        }
        defer { nextHolder += count }
        return nextHolder..<nextHolder + count
    }

    /// BOOKs `holderPool[range]`; thread `lane` 0 drains the outbox every `drainEvery` BOOKs.
    func book(_ range: Range<Int>, lane: Int) {
        var booked = 0
        var sinceDrain = 0
        for index in range {
            if case .afterMirror = provider.book(holderPool[index], wait: false, rules: rules, mirrorUp: true, ticket: nil) {
                booked &+= 1
            }
            sinceDrain &+= 1
            if lane == 0 && sinceDrain == drainEvery {
                sinceDrain = 0
                outbox.drain(into: &drained[0])
                drained[0].removeAll(keepingCapacity: true)
            }
        }
        precondition(booked == range.count, "a BOOK of a new holder was not accepted")
        blackHole(sinceDrain)
    }

    /// BOOKs at a sold-out provider: every answer is +FULL.
    func bookSoldOut(_ range: Range<Int>) {
        var full = 0
        for index in range {
            if case .now(.full) = provider.book(holderPool[index], wait: false, rules: rules, mirrorUp: true, ticket: nil) {
                full &+= 1
            }
        }
        precondition(full == range.count, "a sold-out provider accepted a booking")
    }
}

/// Runs `body` on `range` split between `threads` threads of Dispatch's pool.
private func onThreads(_ threads: Int, _ range: Range<Int>, _ body: (_ range: Range<Int>, _ lane: Int) -> Void) {
    if threads == 1 {
        body(range, 0)
        return
    }
    let share = range.count / threads
    DispatchQueue.concurrentPerform(iterations: threads) { lane in
        body(range.lowerBound + lane * share..<range.lowerBound + (lane + 1) * share, lane)
    }
}

let benchmarks: @Sendable () -> Void = {
    _ = holderPool.count
    let bookingIterations = 20_000

    for threads in [1, 2] {
        Benchmark(
            "BOOK distinct holders, one provider, \(threads) thread(s)",
            configuration: .init(
                metrics: [.throughput, .wallClock, .mallocCountTotal, .peakMemoryResident],
                warmupIterations: 10, scalingFactor: .kilo, maxDuration: .seconds(3), maxIterations: bookingIterations
            )
        ) { benchmark, rig in
            let holders = rig.takeHolders(benchmark.scaledIterations.count)
            benchmark.startMeasurement()
            onThreads(threads, holders) { range, lane in rig.book(range, lane: lane) }
        } setup: {
            BookingRig(capacity: 1 << 40)
        }
    }

    for threads in [1, 2] {
        Benchmark(
            "BOOK sold out (capacity 0), \(threads) thread(s)",
            configuration: .init(
                metrics: [.throughput, .wallClock, .cpuTotal, .mallocCountTotal],
                warmupIterations: 1, scalingFactor: .mega, maxDuration: .seconds(3), maxIterations: 50
            )
        ) { benchmark, rig in
            onThreads(threads, benchmark.scaledIterations) { range, _ in rig.bookSoldOut(range) }
        } setup: {
            BookingRig(capacity: 0)
        }
    }
}
