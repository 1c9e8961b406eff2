// BOOK on the seat table, without the network, replies carrying no ticket: how it scales with
// threads (issue 14). A matrix of
//   - one hot provider, or 1,000 providers (holder i books provider i mod 1,000);
//   - no holder limit, or a holder limit of 2 (the limit's own sharded counts are touched);
//   - seats for everyone (every BOOK takes a seat), or sold out (every BOOK answers +FULL);
//   - 1, 2, 4 and 8 threads: real threads, started once and woken per iteration, so 8 threads
//     are 8 even on a 2-core machine (Dispatch's concurrentPerform would use 2).
// One iteration = 1,000,000 BOOKs of distinct holders (`.mega`), split evenly between the
// threads, on a fresh table made before the measurement starts. Thread 0 drains every outbox
// every 256 of its BOOKs, as the loop threads' group commit would; sold-out providers have
// 100 seats, all held, every write confirmed by Redis, as after a burst.
import Benchmark
import Dispatch
import Foundation
import KezekCore

private let booksPerIteration = 1_000_000
private let drainEvery = 256
/// Seats of each provider in the sold-out cases, all held.
private let seatsWhenSoldOut = 100

/// Distinct small-string holder ids ("holder:0000000": 14 bytes, stored inline, no heap).
private let holderPool: [String] = (0..<booksPerIteration).map { number in
    let digits = String(number)
    return "holder:" + String(repeating: "0", count: 7 - digits.count) + digits
}

private struct Scenario {
    let providers: Int
    let holderLimit: Int
    let soldOut: Bool

    var name: String {
        let place = providers == 1 ? "one provider" : "\(providers) providers"
        let limit = holderLimit > 0 ? ", holder limit \(holderLimit)" : ""
        return (soldOut ? "BOOK sold out, " : "BOOK, ") + place + limit
    }
}

private final class Rig: @unchecked Sendable {
    let scenario: Scenario
    private(set) var rules: Provider.BookingRules
    private(set) var outboxes: [MirrorOutbox] = []
    private(set) var providers: [Provider] = []
    /// The same providers, booked without a retain, as the daemon's `ProviderCache` passes them.
    private(set) var unretained: [Unmanaged<Provider>] = []
    private var drained: [MirrorWrite] = []

    init(_ scenario: Scenario) {
        self.scenario = scenario
        rules = Provider.BookingRules(
            waitlistLimit: 0, limits: HolderLimits(limit: scenario.holderLimit))
        drained.reserveCapacity(16 * drainEvery)
    }

    /// A fresh table (two outboxes, as with two loop threads), outside the measurement.
    func reset() {
        rules = Provider.BookingRules(
            waitlistLimit: 0, limits: HolderLimits(limit: scenario.holderLimit))
        outboxes = [MirrorOutbox(), MirrorOutbox()]
        let table = SeatTable(outboxes: outboxes, rules: rules)
        let capacity = scenario.soldOut ? seatsWhenSoldOut : 1 << 40
        providers = (0..<scenario.providers).map {
            table.providerCreatingIfNeeded("provider-\($0)", capacity: capacity).provider
        }
        unretained = providers.map { Unmanaged.passUnretained($0) }
        if scenario.soldOut {
            // Every seat taken and confirmed by Redis, as after a burst: a BOOK looks among
            // real holders.
            for provider in providers {
                for seat in 0..<seatsWhenSoldOut {
                    _ = provider.book(
                        "seat-holder-\(seat)", wait: false, rules: rules, mirrorUp: true,
                        ticket: nil)
                }
            }
            drainAll(confirming: true)
        }
        drainAll()
    }

    private func drainAll(confirming: Bool = false) {
        for outbox in outboxes {
            outbox.drain(into: &drained)
            if confirming {
                for index in drained.indices {
                    drained[index].provider.confirmed(drained[index...index])
                }
            }
            drained.removeAll(keepingCapacity: true)
        }
    }

    /// BOOKs `holderPool[range]`; lane 0 drains the outboxes every `drainEvery` BOOKs.
    func book(_ range: Range<Int>, lane: Int) {
        let expectFull = scenario.soldOut
        let providers = unretained
        let rules = rules
        let count = providers.count
        var wrong = 0
        var sinceDrain = 0
        for index in range {
            // `now` as the loop passes it (the time the request was read), so no clock is read here.
            let outcome = providers[index % count]._withUnsafeGuaranteedRef {
                $0.book(
                    holderPool[index], wait: false, rules: rules, mirrorUp: true, ticket: nil,
                    now: 0)
            }
            switch outcome {
            case .now(.full): if !expectFull { wrong &+= 1 }
            case .afterMirror: if expectFull { wrong &+= 1 }
            default: wrong &+= 1
            }
            sinceDrain &+= 1
            if lane == 0 && sinceDrain == drainEvery {
                sinceDrain = 0
                drainAll()
            }
        }
        precondition(wrong == 0, "\(wrong) unexpected answers in \(scenario.name)")
    }
}

/// `count` threads that run one share of a job each time `run` is called, then wait.
private final class WorkerThreads: @unchecked Sendable {
    private let count: Int
    private let start: [DispatchSemaphore]
    private let finished = DispatchSemaphore(value: 0)
    private var job: (@Sendable (_ lane: Int) -> Void)?

    init(_ count: Int) {
        self.count = count
        start = (0..<count).map { _ in DispatchSemaphore(value: 0) }
        for lane in 0..<count {
            let thread = Thread { [self] in
                while true {
                    start[lane].wait()
                    job?(lane)
                    finished.signal()
                }
            }
            thread.start()
        }
    }

    /// Runs `job` on every thread (lane 0..<count) and returns when all are done.
    func run(_ job: @escaping @Sendable (_ lane: Int) -> Void) {
        self.job = job
        for semaphore in start { semaphore.signal() }
        for _ in 0..<count { finished.wait() }
    }
}

private let workers: [Int: WorkerThreads] = Dictionary(
    uniqueKeysWithValues: [1, 2, 4, 8].map { ($0, WorkerThreads($0)) })

let benchmarks: @Sendable () -> Void = {
    _ = holderPool.count
    var scenarios: [Scenario] = []
    for soldOut in [false, true] {
        for providers in [1, 1_000] {
            for holderLimit in soldOut ? [0] : [0, 2] {
                scenarios.append(
                    Scenario(providers: providers, holderLimit: holderLimit, soldOut: soldOut))
            }
        }
    }
    for scenario in scenarios {
        for threads in [1, 2, 4, 8] {
            Benchmark(
                "\(scenario.name), \(threads) thread(s)",
                configuration: .init(
                    metrics: [.throughput, .wallClock, .cpuTotal],
                    warmupIterations: 1, scalingFactor: .mega, maxDuration: .seconds(3),
                    maxIterations: 10
                )
            ) { benchmark, rig in
                rig.reset()
                let share = booksPerIteration / threads
                benchmark.startMeasurement()
                workers[threads]!.run { lane in
                    rig.book(lane * share..<(lane + 1) * share, lane: lane)
                }
                benchmark.stopMeasurement()
            } setup: {
                Rig(scenario)
            }
        }
    }
}
