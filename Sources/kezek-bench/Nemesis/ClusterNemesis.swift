// Plays a fault schedule against the Redis Cluster topology, as `Nemesis` does against one
// Redis: each fault on a thread of its own, healed after its duration. The shard a fault hits
// comes from the seed (the fault's scheduled time); which of its nodes holds the lease, and
// which Redis is its master, are read when the fault comes. A loss of Redis's data (FLUSHALL
// of a master) comes only when every daemon runs, every shard is served, and nothing else plays
// out; no daemon fault follows for lease-ttl + 1 s. Redis faults never overlap each other, and a
// master is killed only while every master has its replica linked (so one takes over).
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

extension FaultClass {
    /// The classes of the Redis Cluster topology (`--topology cluster`).
    static let cluster: [FaultClass] = [
        .killHolder, .killStandby, .stopHolder, .stopStandby, .termHolder, .termStandby,
        .redisMasterKill, .redisMaxMemory, .redisFlushAll, .clientPartition, .clientDelay,
        .clientReset, .clientAbort,
    ]
}

final class ClusterNemesis: @unchecked Sendable {
    let topology: ClusterNemesisTopology
    let clientFaults: ClientFaults
    let leaseTTL: Double
    let log: (String) -> Void
    private let playback = FaultPlayback()
    /// Guards what is playing out and the quiet spell.
    private let lock = NSLock()
    /// Daemon and Redis faults now playing out.
    private var active = 0
    private var redisBusy = false
    private var quietUntil = 0.0

    init(
        topology: ClusterNemesisTopology, clientFaults: ClientFaults, leaseTTL: Double,
        log: @escaping (String) -> Void
    ) {
        self.topology = topology
        self.clientFaults = clientFaults
        self.leaseTTL = leaseTTL
        self.log = log
    }

    var counts: (injected: [FaultClass: Int], skipped: [FaultClass: Int]) { playback.counts }

    /// Plays `schedule` from `start` (monotonic seconds); returns once every fault healed.
    func play(_ schedule: [ScheduledFault], from start: Double) {
        playback.play(schedule, from: start) { [self] in inject($0, at: $1) }
    }

    /// The shard a fault hits: drawn from the seed through the fault's scheduled time.
    static func shard(of scheduled: ScheduledFault) -> Int {
        Int((scheduled.at * 1000).rounded()) % 3
    }

    private func inject(_ scheduled: ScheduledFault, at time: Double) {
        let fault = scheduled.fault
        let shard = Self.shard(of: scheduled)
        let shardNodes = topology.nodes.filter { $0.shard == shard }
        let holder = topology.holder(of: shard) ?? shardNodes[0]
        let standby = shardNodes.first { $0 !== holder } ?? shardNodes[1]
        let target =
            fault == .killHolder || fault == .termHolder || fault == .stopHolder ? holder : standby
        let targetBusy = fault.hitsDaemon && (target.process.heldDown || !target.process.isRunning)
        guard !targetBusy, let release = admit(fault) else {
            playback.countSkipped(fault)
            return
        }
        defer { release() }
        let seconds = scheduled.seconds
        var detail = "shard \(shard) holder=\(holder.name)"
        switch fault {
        case .killHolder, .killStandby:
            target.process.heldDown = true
            target.process.killNow()
            sleep(seconds)
            target.process.heldDown = false
        case .termHolder, .termStandby:
            target.process.heldDown = true
            target.process.signal(SIGTERM)
            target.process.waitGone(timeout: 10)
            sleep(seconds)
            target.process.heldDown = false
        case .stopHolder, .stopStandby:
            target.process.heldDown = true
            target.process.signal(SIGSTOP)
            sleep(seconds)
            target.process.signal(SIGCONT)
            target.process.heldDown = false
        case .redisMasterKill:
            guard let master = masterOf(shard), let server = topology.redisServer(port: master)
            else { return skip(fault) }
            detail += " master=\(master)"
            server.process.killNow()
            sleep(seconds)
            // Down until its replica took over (the cluster promotes it after
            // cluster-node-timeout), then back: it rejoins as the replica.
            try? topology.waitFor("a new master for shard \(shard)", timeout: 30) {
                self.masterOf(shard).map { $0 != master } ?? false
            }
            try? server.process.start()
            try? topology.waitFor("the cluster whole again", timeout: 60) {
                self.topology.clusterWhole()
            }
        case .redisMaxMemory:
            guard let master = masterOf(shard) else { return skip(fault) }
            detail += " master=\(master)"
            _ = try? topology.redisCommand(master, ["CONFIG", "SET", "maxmemory", "1"])
            sleep(seconds)
            heal {
                (try? self.topology.redisCommand(master, ["CONFIG", "SET", "maxmemory", "0"]))?
                    .text == "OK"
            }
        case .redisFlushAll:
            guard let master = masterOf(shard) else { return skip(fault) }
            detail += " master=\(master)"
            _ = try? topology.redisCommand(master, ["FLUSHALL"])
        case .clientPartition:
            holder.clientProxy.set(.partition)
            sleep(seconds)
            holder.clientProxy.set(.pass)
        case .clientDelay:
            let milliseconds = 50 + Int(seconds * 50)
            for node in topology.nodes { node.clientProxy.set(.delay(milliseconds: milliseconds)) }
            sleep(seconds)
            for node in topology.nodes { node.clientProxy.set(.pass) }
        case .clientReset:
            for node in topology.nodes { node.clientProxy.resetAll() }
        case .clientAbort:
            clientFaults.abort(3)
        default:
            return skip(fault)
        }
        playback.countInjected(fault)
        log(String(format: "%7.2fs  %@ (%.1fs) %@", time, fault.rawValue, seconds, detail))
        if fault.losesRedisData {
            lock.withLock { quietUntil = monotonicNow() + leaseTTL + 1 }
        }
    }

    private func skip(_ fault: FaultClass) {
        playback.countSkipped(fault)
        if fault.losesRedisData { lock.withLock { quietUntil = monotonicNow() + leaseTTL + 1 } }
    }

    private func masterOf(_ shard: Int) -> UInt16? {
        let masters = topology.masters()
        return masters.count == 3 ? masters[shard] : nil
    }

    /// Whether `fault` may start now, and what to call when it has healed.
    private func admit(_ fault: FaultClass) -> (() -> Void)? {
        let touchesRedis =
            fault == .redisFlushAll || fault == .redisMasterKill || fault == .redisMaxMemory
        // Looked at before the lock (each asks the processes); only for the faults that need it.
        let daemonsWhole =
            fault.losesRedisData
            ? topology.nodes.allSatisfy { $0.process.isRunning && !$0.process.heldDown }
                && topology.everyShardServed() : true
        let clusterWhole = touchesRedis ? topology.clusterWhole() : true
        return lock.withLock { () -> (() -> Void)? in
            if touchesRedis && (redisBusy || !clusterWhole) { return nil }
            if fault.losesRedisData && (active > 0 || !daemonsWhole) { return nil }
            if fault.losesRedisData { quietUntil = .infinity }
            let quiet = monotonicNow() < quietUntil
            if (fault.hitsDaemon || fault == .redisMasterKill) && quiet { return nil }
            guard fault.hitsDaemon || touchesRedis else { return {} }
            active += 1
            if touchesRedis { redisBusy = true }
            return { [self] in
                lock.withLock {
                    active -= 1
                    if touchesRedis { redisBusy = false }
                }
            }
        }
    }

    /// Retries a healing step until it takes.
    private func heal(_ step: () -> Bool) {
        for _ in 0..<100 where !step() { usleep(100_000) }
    }

    private func sleep(_ seconds: Double) { if seconds > 0 { usleep(UInt32(seconds * 1_000_000)) } }

    /// Undoes anything left: every proxy passes, nothing stopped, every Redis up and taking
    /// writes, the cluster whole.
    func healAll() {
        for node in topology.nodes {
            node.clientProxy.set(.pass)
            node.process.signal(SIGCONT)
            node.process.heldDown = false
        }
        for server in topology.redis {
            if !server.process.isRunning { try? server.process.start() }
            heal {
                (try? self.topology.redisCommand(server.port, ["CONFIG", "SET", "maxmemory", "0"]))?
                    .text == "OK"
            }
        }
        try? topology.waitFor("the cluster whole after the faults", timeout: 60) {
            self.topology.clusterWhole()
        }
    }
}
