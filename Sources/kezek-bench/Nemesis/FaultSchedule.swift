// The nemesis's faults, drawn from the seed before the run starts: which fault, when, for how
// long. The same seed gives the same schedule; which node is the holder when a fault comes is
// read at that moment.
import Foundation
import KezekClientSupport

enum FaultClass: String, CaseIterable, Sendable {
    case killHolder = "kill9-holder", killStandby = "kill9-standby"
    case stopHolder = "sigstop-holder", stopStandby = "sigstop-standby"
    case termHolder = "sigterm-holder", termStandby = "sigterm-standby"
    case redisKillAOF = "redis-kill9-restart-aof", redisRestartEmpty = "redis-restart-empty"
    case redisFlushAll = "redis-flushall", redisMaxMemory = "redis-maxmemory"
    case redisPartition = "partition-kezekd-redis", redisDelay = "delay-kezekd-redis"
    case redisReset = "reset-kezekd-redis"
    case clientPartition = "partition-clients-kezekd", clientDelay = "delay-clients-kezekd"
    case clientReset = "reset-clients-kezekd", clientAbort = "client-abort"
    case primaryKill = "redis-primary-kill9", sentinelFailover = "sentinel-failover"
    case laggingFailover = "failover-lagging-replica"
    /// Redis Cluster only: SIGKILL of a shard's master (ClusterNemesis).
    case redisMasterKill = "redis-master-kill9"

    /// The faults the tool can play against nodes it did not start (`--nodes`): the client
    /// links' always (they pass its own proxies); the daemon faults only when something else
    /// restarts the nodes (`--supervised`): kill -9 and SIGTERM end a node, and a holder
    /// stopped past its lease exits once it wakes deposed (status 75, for its supervisor to
    /// start it again as a standby); `maxmemory` when Redis is named, and FLUSHALL only when
    /// data loss is allowed too.
    static func pointed(supervised: Bool, redis: Bool, dataLoss: Bool) -> [FaultClass] {
        allCases.filter { fault in
            switch fault {
            case .clientPartition, .clientDelay, .clientReset, .clientAbort: true
            case .killHolder, .killStandby, .termHolder, .termStandby, .stopHolder, .stopStandby:
                supervised
            case .redisMaxMemory: redis
            case .redisFlushAll: redis && dataLoss
            default: false
            }
        }
    }

    /// Faults after which Redis no longer has what the daemon confirmed: they run alone, with
    /// both nodes up, and no daemon fault follows for a quiet spell (the contract keeps an
    /// acknowledged booking while a daemon that holds it is alive: docs/RELIABILITY.md).
    /// A kill -9 of Redis loses its last second too (the topology's AOF is `everysec`); a
    /// graceful Sentinel failover loses what the old primary took before it became a replica;
    /// a kill -9 of the primary may promote the replica that did not answer kezekd's `WAIT 1`.
    var losesRedisData: Bool {
        self == .redisRestartEmpty || self == .redisFlushAll || self == .redisKillAOF
            || self == .laggingFailover || self == .sentinelFailover || self == .primaryKill
    }
    /// Faults that take Redis (or its primary) away or refuse its writes: one at a time.
    var touchesRedis: Bool {
        losesRedisData || self == .redisMaxMemory || self == .primaryKill
            || self == .sentinelFailover
    }
    /// How often it is drawn against the others: the faults that depose a holder (and so
    /// test acknowledgement, fencing and reads across a takeover) twice as often.
    var weight: Int {
        switch self {
        case .killHolder, .stopHolder, .redisPartition: 2
        default: 1
        }
    }

    /// Faults that take a kezekd away (it must not overlap a loss of Redis's data).
    var hitsDaemon: Bool {
        switch self {
        case .killHolder, .killStandby, .stopHolder, .stopStandby, .termHolder, .termStandby: true
        default: false
        }
    }
}

struct ScheduledFault: Sendable {
    let at: Double
    let fault: FaultClass
    /// How long it lasts (a stop, a partition, a delay, a node or Redis held down).
    let seconds: Double
}

enum FaultSchedule {
    /// Faults for `seconds` of run, one every `meanGap` seconds on average (exponential gaps,
    /// so some overlap and some come alone), durations scaled to the lease.
    static func draw(
        seed: UInt64, seconds: Double, meanGap: Double, leaseTTL: Double,
        classes: [FaultClass] = FaultClass.allCases
    ) -> [ScheduledFault] {
        var random = SplitMix64(workloadSeed: seed)
        var at = 1.0 + random.unit()
        var faults: [ScheduledFault] = []
        while at < seconds - 2 {
            let weighted = classes.flatMap { Array(repeating: $0, count: $0.weight) }
            let fault = weighted[Int(random.next() % UInt64(weighted.count))]
            let duration: Double
            switch fault {
            case .stopHolder, .stopStandby: duration = leaseTTL + 0.5 + random.unit() * leaseTTL
            case .killHolder, .killStandby, .termHolder, .termStandby:
                duration = 0.2 + random.unit() * 2
            case .redisKillAOF, .redisRestartEmpty: duration = 0.2 + random.unit()
            case .primaryKill: duration = 0.2 + random.unit() * 2
            case .laggingFailover: duration = 0.5 + random.unit() * 1.5
            case .redisMasterKill: duration = 0.5 + random.unit() * 3
            case .redisMaxMemory, .clientPartition: duration = 0.5 + random.unit() * 3
            case .redisPartition: duration = 1 + random.unit() * 3.5
            case .redisDelay, .clientDelay: duration = 1 + random.unit() * 3
            default: duration = 0
            }
            faults.append(
                ScheduledFault(at: at, fault: fault, seconds: min(duration, seconds - 1 - at)))
            at += -log(max(1e-9, 1 - random.unit())) * meanGap
        }
        return faults
    }
}
