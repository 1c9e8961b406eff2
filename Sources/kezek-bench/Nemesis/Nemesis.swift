// Plays a fault schedule against the topology: each fault on a thread of its own (so they
// overlap), healed after its duration. Faults that would break the contract's own preconditions
// are skipped and counted: a loss of Redis's data while a daemon is down or stopped (nobody
// alive holds what was lost), or a daemon fault in the quiet spell after such a loss.
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

final class Nemesis: @unchecked Sendable {
    let topology: NemesisTopology
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
        topology: NemesisTopology, clientFaults: ClientFaults, leaseTTL: Double,
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

    private func inject(_ scheduled: ScheduledFault, at time: Double) {
        let fault = scheduled.fault
        let holder = topology.leaseHolder() ?? topology.nodes[0]
        let standby = topology.nodes.first { $0 !== holder } ?? topology.nodes[1]
        let target =
            fault == .killHolder || fault == .termHolder || fault == .stopHolder ? holder : standby
        let targetBusy = fault.hitsDaemon && (target.process.heldDown || !target.process.isRunning)
        guard !targetBusy, let release = admit(fault) else {
            playback.countSkipped(fault)
            return
        }
        defer { release() }
        playback.countInjected(fault)
        let seconds = scheduled.seconds
        let nodes = topology.nodes
        log(
            String(
                format: "%7.2fs  %@ (%.1fs) holder=%@", time, fault.rawValue, seconds, holder.name))
        switch fault {
        case .killHolder, .killStandby:
            let node = fault == .killHolder ? holder : standby
            node.process.heldDown = true
            node.process.killNow()
            sleep(seconds)
            node.process.heldDown = false
        case .termHolder, .termStandby:
            let node = fault == .termHolder ? holder : standby
            node.process.heldDown = true
            node.process.signal(SIGTERM)
            node.process.waitGone(timeout: 10)
            sleep(seconds)
            node.process.heldDown = false
        case .stopHolder, .stopStandby:
            let node = fault == .stopHolder ? holder : standby
            node.process.heldDown = true
            node.process.signal(SIGSTOP)
            sleep(seconds)
            node.process.signal(SIGCONT)
            node.process.heldDown = false
        case .redisKillAOF, .redisRestartEmpty:
            topology.redis?.killNow()
            if fault == .redisRestartEmpty {
                try? FileManager.default.removeItem(atPath: topology.directory + "/appendonlydir")
            }
            sleep(seconds)
            try? topology.redis?.start()
        case .redisFlushAll:
            _ = try? topology.redisCommand("FLUSHALL")
        case .redisMaxMemory:
            _ = try? topology.redisCommand("CONFIG SET maxmemory 1")
            sleep(seconds)
            restoreMaxMemory()
        case .primaryKill, .sentinelFailover, .laggingFailover:
            guard let sentinel = topology.sentinel else { break }
            let note =
                fault == .primaryKill
                ? sentinel.killPrimary(downFor: seconds)
                : fault == .sentinelFailover
                    ? sentinel.gracefulFailover()
                    : sentinel.failoverToLaggingReplica(lagFor: seconds)
            // Printed even with --quiet: the fault did not play out as planned.
            if let note { print(String(format: "%7.2fs  %@: %@", time, fault.rawValue, note)) }
        case .redisPartition, .clientPartition:
            let proxy = fault == .redisPartition ? holder.redisProxy : holder.clientProxy
            proxy?.set(.partition)
            sleep(seconds)
            proxy?.set(.pass)
        case .redisDelay, .clientDelay:
            let proxies = nodes.compactMap {
                fault == .redisDelay ? $0.redisProxy : $0.clientProxy
            }
            let milliseconds = 50 + Int(seconds * 50)
            for proxy in proxies { proxy.set(.delay(milliseconds: milliseconds)) }
            sleep(seconds)
            for proxy in proxies { proxy.set(.pass) }
        case .redisReset:
            for node in nodes { node.redisProxy?.resetAll() }
            // Under Sentinel no proxy sits on the link: the primary closes its clients' links
            // (the Sentinels' too; they reconnect), as a reset would.
            if topology.sentinel != nil {
                _ = try? topology.redisCommand("CLIENT KILL TYPE normal SKIPME yes")
            }
        case .clientReset:
            for node in nodes { node.clientProxy.resetAll() }
        case .clientAbort:
            clientFaults.abort(3)
        case .redisMasterKill:
            break  // Redis Cluster only (ClusterNemesis)
        }
        if fault.losesRedisData {
            let waited = waitForWriteBack()
            if !waited {
                print(
                    String(
                        format: "%7.2fs  %@: no write-back seen within %.0f s", time,
                        fault.rawValue, Self.writeBackWait))
            }
            lock.withLock { quietUntil = monotonicNow() + leaseTTL + 1 }
        }
    }

    /// The longest wait for the holder's write-back after a loss of Redis's data.
    static let writeBackWait = 60.0

    /// After a loss of Redis's data, the holder alone has what was lost until it has written
    /// its state back (docs/RELIABILITY.md): the quiet spell lasts until Redis holds a lease
    /// epoch again and no write-back marker (`<prefix>:{lease}:epoch`, `…:writeback`,
    /// docs/PROTOCOL.md). A fixed spell was too short when the link to Redis was slowed
    /// meanwhile (a write-back took over 3 s): a holder killed in the middle of it lost what
    /// only it held, a double fault the contract does not cover. False after `writeBackWait`.
    private func waitForWriteBack() -> Bool {
        let epoch = "\(topology.keyPrefix):{lease}:epoch"
        let marker = "\(topology.keyPrefix):{lease}:writeback"
        let deadline = monotonicNow() + Self.writeBackWait
        while monotonicNow() < deadline {
            let whole =
                (try? topology.redisCommand("EXISTS \(epoch)")) == ":1"
                && (try? topology.redisCommand("EXISTS \(marker)")) == ":0"
            if whole { return true }
            usleep(50_000)
        }
        return false
    }

    /// Whether `fault` may start now, and what to call when it has healed.
    private func admit(_ fault: FaultClass) -> (() -> Void)? {
        let daemonsWhole = topology.nodes.allSatisfy {
            $0.process.isRunning && !$0.process.heldDown
        }
        let hasPrimary = fault.losesRedisData ? topology.primary() != nil : true
        return lock.withLock { () -> (() -> Void)? in
            let touchesRedis = fault.touchesRedis
            if touchesRedis && redisBusy { return nil }
            if fault.losesRedisData && (active > 0 || !daemonsWhole || !hasPrimary) { return nil }
            // No daemon fault while Redis's data is being lost either (a restart takes a second),
            // and none for the quiet spell after it (set when it ends).
            if fault.losesRedisData { quietUntil = .infinity }
            if fault.hitsDaemon && monotonicNow() < quietUntil { return nil }
            if fault.hitsDaemon || touchesRedis || fault == .redisPartition {
                if quietUntil > monotonicNow() && fault == .redisPartition { return nil }
                active += 1
                if touchesRedis { redisBusy = true }
                return { [self] in
                    lock.withLock {
                        active -= 1; if touchesRedis { redisBusy = false }
                    }
                }
            }
            return {}
        }
    }

    /// Retries a healing step until it takes (Redis may be restarting).
    private func heal(_ step: () -> Bool) {
        for _ in 0..<100 where !step() { usleep(100_000) }
    }

    private func sleep(_ seconds: Double) { if seconds > 0 { usleep(UInt32(seconds * 1_000_000)) } }

    /// Undoes anything left: every proxy passes, nothing stopped, Redis takes writes.
    func healAll() {
        for node in topology.nodes {
            node.redisProxy?.set(.pass)
            node.clientProxy.set(.pass)
            node.process.signal(SIGCONT)
            node.process.heldDown = false
        }
        topology.sentinel?.healAll()
        restoreMaxMemory()
    }

    /// Redis's `maxmemory` as it was before the run (0 on the topologies the tool starts).
    private func restoreMaxMemory() {
        guard topology.redisPort != 0 else { return }
        let value = topology.maxMemoryBefore
        heal { (try? self.topology.redisCommand("CONFIG SET maxmemory \(value)")) == "+OK" }
    }
}
