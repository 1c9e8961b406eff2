// The fair round's draw without the network: deferred acceptance over a million applications,
// and the lottery order (one SHA-256 per applicant, then a sort).
//
// Workload: 1,000,000 applicants with 5 distinct choices each, drawn by popularity (Zipf,
// exponent 1, over a random ranking) from 10,000 providers with 400,000 free seats in all
// (uneven sizes): the DamuBala ratio of free seats to applicants (22,781 / 55,889) at 18x.
// Without levels, and with a level 1-3 claim on one choice in five (which makes displacements).
//
// Memory: `peakGrowthBytesPerApplicant` is the peak RSS growth during one allocation (the
// kernel's high-water mark, reset through /proc/self/clear_refs just before), divided by the
// applicants: the working memory of the allocation plus its result. `inputBytesPerApplicant`
// is what the applications themselves take (the flat arrays, by their element counts).
import Benchmark
import Foundation
import KezekDraw
import KezekTestSupport

private let applicants = 1_000_000
private let providers = 10_000
private let freeSeatsInAll = 400_000
private let choicesEach = 5

private struct DrawWorkload {
    let seats: [Int]
    let book: ApplicationBook
    let order: [Int32]

    init(levels: Bool) {
        var rng = SplitMix64(seed: 2023)
        let weights = (0..<providers).map { _ in 0.4 + 1.2 * rng.unit() }
        let total = weights.reduce(0, +)
        seats = weights.map { Int(Double(freeSeatsInAll) * $0 / total) }
        var cdf: [Double] = []
        var acc = 0.0
        for k in 0..<providers { acc += 1.0 / Double(k + 1); cdf.append(acc) }
        cdf = cdf.map { $0 / acc }
        let ranking = Array(0..<providers).shuffled(using: &rng)
        func popular() -> Int {
            let u = rng.unit()
            var lo = 0, hi = providers - 1
            while lo < hi {
                let mid = (lo + hi) / 2; if cdf[mid] > u { hi = mid } else { lo = mid + 1 }
            }
            return ranking[lo]
        }
        var book = ApplicationBook()
        book.reserve(applicants: applicants, choices: applicants * choicesEach)
        var choices: [(provider: Int, level: Int)] = []
        for _ in 0..<applicants {
            choices.removeAll(keepingCapacity: true)
            while choices.count < choicesEach {
                let p = popular()
                if choices.contains(where: { $0.provider == p }) { continue }
                let level = levels && rng.next() % 5 == 0 ? 1 + Int(rng.next() % 3) : 0
                choices.append((p, level))
            }
            book.append(choices)
        }
        self.book = book
        // A random permutation stands in for the lottery order (its cost is measured apart).
        order = Array(0..<Int32(applicants)).shuffled(using: &rng)
    }

    var inputBytesPerApplicant: Int {
        (book.start.count * 4 + book.provider.count * 4 + book.level.count + order.count * 4)
            / applicants
    }
}

private enum ResidentMemory {
    static func resetPeak() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
    /// VmHWM or VmRSS from /proc/self/status, in bytes.
    static func read(_ field: String) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return 0
        }
        for line in status.split(separator: "\n") where line.hasPrefix(field + ":") {
            return (Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0) * 1024
        }
        return 0
    }
}

private func allocationBenchmark(_ name: String, levels: Bool) {
    Benchmark(
        name,
        configuration: .init(
            metrics: [
                .wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident,
                .custom("peakGrowthBytesPerApplicant", useScalingFactor: false),
                .custom("inputBytesPerApplicant", useScalingFactor: false),
                .custom("displacedPerThousand", useScalingFactor: false),
            ],
            timeUnits: .milliseconds,
            warmupIterations: 1,
            maxDuration: .seconds(10),
            maxIterations: 7
        )
    ) { (benchmark: Benchmark, work: DrawWorkload) in
        ResidentMemory.resetPeak()
        let before = ResidentMemory.read("VmRSS")
        benchmark.startMeasurement()
        let allocation = DeferredAcceptance.allocate(
            freeSeats: work.seats, applications: work.book, lotteryOrder: work.order)
        benchmark.stopMeasurement()
        let growth = ResidentMemory.read("VmHWM") - before
        benchmark.measurement(
            .custom("peakGrowthBytesPerApplicant", useScalingFactor: false), growth / applicants)
        benchmark.measurement(
            .custom("inputBytesPerApplicant", useScalingFactor: false), work.inputBytesPerApplicant)
        benchmark.measurement(
            .custom("displacedPerThousand", useScalingFactor: false),
            allocation.displaced * 1000 / applicants)
        blackHole(allocation.placement[0])
    } setup: {
        DrawWorkload(levels: levels)
    }
}

let benchmarks: @Sendable () -> Void = {
    allocationBenchmark("Allocate 1,000,000 applicants x 5 choices, no levels", levels: false)
    allocationBenchmark(
        "Allocate 1,000,000 applicants x 5 choices, levels on 1 choice in 5", levels: true)

    Benchmark(
        "Lottery order of 1,000,000 holders (SHA-256 each, then sort)",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
            timeUnits: .milliseconds, warmupIterations: 0, maxDuration: .seconds(10),
            maxIterations: 3)
    ) { (benchmark: Benchmark, holders: [String]) in
        benchmark.startMeasurement()
        let order = LotteryOrder.order(seed: "4d9f1c0e7b2a", holders: holders)
        benchmark.stopMeasurement()
        blackHole(order[0])
    } setup: {
        (0..<applicants).map { "a:\($0)" }
    }
}
