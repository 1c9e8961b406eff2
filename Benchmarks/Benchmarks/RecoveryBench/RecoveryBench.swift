// Start-up recovery of 1,000,000 bookings (1,000 providers x 1,000 holders) from a private
// redis-server into a SeatTable, through the public `KezekServer.recover(catalog:)` (which runs
// the internal `Recovery.load` on a `RedisSyncConnection`). One op = one whole load.
//
// Also reported, from one load in a fresh table before the iterations: RSS growth per booking
// (/proc/self/statm before and after), printed and kept as the custom metric rssBytesPerBooking.
import Benchmark
import Foundation
import KezekCore
import Logging

private let providerCount = 1_000
private let holdersPerProvider = 1_000
private let bookings = providerCount * holdersPerProvider
private let keys = KeyLayout(prefix: "kezek")

private func providerID(_ number: Int) -> String { "provider-\(1000 + number)" }
private func holderID(_ number: Int) -> String { "holder:\(1_000_000 + number)" }

/// RESP for the whole state: every provider's capacity and booked set, and the provider set.
private func stateCommands() -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(24 * bookings)
    func command(_ arguments: [String]) {
        out += Array("*\(arguments.count)\r\n".utf8)
        for argument in arguments { out += Array("$\(argument.utf8.count)\r\n\(argument)\r\n".utf8) }
    }
    for provider in 0..<providerCount {
        let id = providerID(provider)
        command(["SET", keys.capacity(id), "\(holdersPerProvider)"])
        command(["SADD", keys.booked(id)] + (0..<holdersPerProvider).map { holderID(provider * holdersPerProvider + $0) })
    }
    command(["SADD", keys.providers] + (0..<providerCount).map(providerID))
    return out
}

private final class RecoveryRig: @unchecked Sendable {
    let redis: RedisFixture
    var settings = ServerSettings()
    var rssBytesPerBooking = 0
    var kept: KezekServer?

    init() throws {
        redis = try RedisFixture()
        do {
            let summary = try redis.pipe(stateCommands())
            settings.redis = .init(host: "127.0.0.1", port: redis.port)
            let memory = try RedisFixture.run("redis-cli", ["-p", "\(redis.port)", "INFO", "memory"])
                .split(separator: "\r\n").first { $0.hasPrefix("used_memory_human:") } ?? "?"
            // One load in a fresh table for RSS: later loads reuse memory the allocator kept.
            let before = residentBytes()
            let server = try load()
            let after = residentBytes()
            rssBytesPerBooking = (after - before) / bookings
            let booked = server.table.allProviders.reduce(0) { $0 + $1.seats().booked }
            precondition(booked == bookings, "recovered \(booked) bookings, expected \(bookings)")
            print("RecoveryBench: redis 127.0.0.1:\(redis.port) filled (\(summary); redis \(memory)); "
                + "RSS +\((after - before) >> 20) MiB for \(bookings) bookings = \(rssBytesPerBooking) bytes/booking")
        } catch {
            redis.stop()
            throw error
        }
    }

    /// A new server (fresh, empty SeatTable) with the state loaded from Redis.
    func load() throws -> KezekServer {
        let server = KezekServer(settings: settings, log: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
        try server.recover(catalog: [])
        return server
    }
}

/// The rig of the running benchmark, for teardown (which is not handed the setup's result).
nonisolated(unsafe) private var activeRig: RecoveryRig?

let benchmarks: @Sendable () -> Void = {
    Benchmark(
        "Recover 1,000,000 bookings (1,000 providers x 1,000) from Redis",
        configuration: .init(
            metrics: [.wallClock, .cpuTotal, .mallocCountTotal, .memoryLeakedBytes, .peakMemoryResident,
                      .custom("rssBytesPerBooking", useScalingFactor: false)],
            timeUnits: .milliseconds,
            warmupIterations: 0,
            maxDuration: .seconds(5),
            maxIterations: 5
        )
    ) { (benchmark: Benchmark, rig: RecoveryRig) in
        rig.kept = nil // last iteration's table, freed outside the measurement
        benchmark.startMeasurement()
        let server = try rig.load()
        benchmark.stopMeasurement()
        rig.kept = server
        benchmark.measurement(.custom("rssBytesPerBooking", useScalingFactor: false), rig.rssBytesPerBooking)
    } setup: {
        let rig = try RecoveryRig()
        activeRig = rig
        return rig
    } teardown: {
        activeRig?.kept = nil
        activeRig?.redis.stop()
        activeRig = nil
    }
}
