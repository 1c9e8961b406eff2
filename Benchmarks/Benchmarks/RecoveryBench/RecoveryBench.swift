// Start-up recovery of 1,000,000 bookings (1,000 providers x 1,000 holders) from a private
// redis-server into a SeatTable, through the public `KezekServer.recover(catalog:)` (which runs
// the internal `Recovery.load` on a `RedisSyncConnection`). One op = one whole load.
//
// Also reported, from one load in a fresh table before the iterations: RSS growth per booking
// (/proc/self/statm before and after), printed and kept as the custom metric rssBytesPerBooking.
import Benchmark
import Foundation
import KezekCore
import KezekTestSupport
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
        for argument in arguments {
            out += Array("$\(argument.utf8.count)\r\n\(argument)\r\n".utf8)
        }
    }
    for provider in 0..<providerCount {
        let id = providerID(provider)
        command(["SET", keys.capacity(id), "\(holdersPerProvider)"])
        command(
            ["SADD", keys.booked(id)]
                + (0..<holdersPerProvider).map { holderID(provider * holdersPerProvider + $0) })
    }
    command(["SADD", keys.providers] + (0..<providerCount).map(providerID))
    return out
}

private final class RecoveryRig: @unchecked Sendable {
    let redis: RedisServerProcess
    /// Held open by this process alone: when it closes (at `stop`, or when a crash ends this
    /// process), a watching `sh` SIGKILLs the server and removes its directory.
    private let lifeline = Pipe()
    var settings = ServerSettings()
    var rssBytesPerBooking = 0
    var kept: KezekServer?

    init() throws {
        // The tests' private redis-server, without persistence: only the load is measured.
        let directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("kezek-bench-redis-\(getpid())")
        redis = try RedisServerProcess(directory: directory)
        redis.extraArguments = ["--appendonly", "no"]
        try redis.start()
        do {
            try watchLifeline()
            let summary = try fill()
            settings.redis = .init(host: "127.0.0.1", port: redis.port)
            let memory =
                try redis.cli(["INFO", "memory"])
                .split(separator: "\r\n").first { $0.hasPrefix("used_memory_human:") } ?? "?"
            // One load in a fresh table for RSS: later loads reuse memory the allocator kept.
            let before = residentBytes()
            let server = try load()
            let after = residentBytes()
            rssBytesPerBooking = (after - before) / bookings
            let booked = server.table.allProviders.reduce(0) { $0 + $1.seats().booked }
            precondition(booked == bookings, "recovered \(booked) bookings, expected \(bookings)")
            print(
                "RecoveryBench: redis 127.0.0.1:\(redis.port) filled (\(summary); redis \(memory)); "
                    + "RSS +\((after - before) >> 20) MiB for \(bookings) bookings = \(rssBytesPerBooking) bytes/booking"
            )
        } catch {
            stop()
            throw error
        }
    }

    /// Starts the `sh` that kills the server once `lifeline` closes.
    private func watchLifeline() throws {
        guard let pid = redis.processIdentifier else { return }
        let shell = Process()
        shell.executableURL = URL(fileURLWithPath: "/bin/sh")
        let directory = redis.directory.path
        shell.arguments = [
            "-c", "cat >/dev/null; kill -KILL \(pid) 2>/dev/null; rm -rf '\(directory)'",
        ]
        shell.standardInput = lifeline
        shell.standardOutput = FileHandle.nullDevice
        shell.standardError = FileHandle.nullDevice
        try shell.run()
    }

    /// Sends the whole state with `redis-cli --pipe`; returns its summary line.
    private func fill() throws -> String {
        let file = redis.directory.appendingPathComponent("fill.resp")
        try Data(stateCommands()).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let output = try redis.cli(["--pipe"], stdin: file.path, timeout: 300)
        guard output.contains("errors: 0") else {
            throw TestSetupError("redis-cli --pipe: \(output)")
        }
        return output.split(separator: "\n").last.map(String.init) ?? output
    }

    /// SIGKILL (the benchmark blocks SIGTERM, and redis-server inherits the mask), then the
    /// server's directory goes.
    func stop() {
        redis.kill9()
        try? lifeline.fileHandleForWriting.close()
        try? FileManager.default.removeItem(at: redis.directory)
    }

    /// A new server (fresh, empty SeatTable) with the state loaded from Redis.
    func load() throws -> KezekServer {
        let server = KezekServer(
            settings: settings, log: Logger(label: "bench") { _ in SwiftLogNoOpLogHandler() })
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
            metrics: [
                .wallClock, .cpuTotal, .mallocCountTotal, .memoryLeakedBytes, .peakMemoryResident,
                .custom("rssBytesPerBooking", useScalingFactor: false),
            ],
            timeUnits: .milliseconds,
            warmupIterations: 0,
            maxDuration: .seconds(5),
            maxIterations: 5
        )
    ) { (benchmark: Benchmark, rig: RecoveryRig) in
        rig.kept = nil  // last iteration's table, freed outside the measurement
        benchmark.startMeasurement()
        let server = try rig.load()
        benchmark.stopMeasurement()
        rig.kept = server
        benchmark.measurement(
            .custom("rssBytesPerBooking", useScalingFactor: false), rig.rssBytesPerBooking)
    } setup: {
        let rig = try RecoveryRig()
        activeRig = rig
        return rig
    } teardown: {
        activeRig?.kept = nil
        activeRig?.stop()
        activeRig = nil
    }
}

/// Resident bytes of this process (/proc/self/statm, second field, in pages).
private func residentBytes() -> Int {
    guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else {
        return 0
    }
    let fields = text.split(separator: " ")
    guard fields.count > 1, let pages = Int(fields[1]) else { return 0 }
    return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
}
