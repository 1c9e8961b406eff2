// The faults that only a Sentinel group has: the primary killed (a replica promoted), a
// graceful failover, and a failover to a replica that lacks the latest writes. Each reads the
// primary from the Sentinels when it comes, and returns once the group is whole again (every
// server up, both replicas linked to the primary), so the next Redis fault meets a whole group.
import Foundation
import KezekClientSupport
#if canImport(Glibc)
    import Glibc
#endif

extension SentinelGroup {
    /// Seconds a fault waits for the Sentinels to promote a replica, or for the group to heal.
    static let failoverTimeout = 30.0

    /// SIGKILL of the primary; once a replica is promoted, the old one is held down `seconds`
    /// more, then restarted from its AOF as a replica of the new one. A note when it went wrong.
    func killPrimary(downFor seconds: Double) -> String? {
        guard let old = primaryPort(), let process = server(old) else { return "no primary" }
        process.killNow()
        let new = waitPrimaryChange(from: old, timeout: Self.failoverTimeout)
        if seconds > 0 { usleep(UInt32(seconds * 1_000_000)) }
        try? startServer(old, replicaOf: new)
        return heal(new == nil ? "no replica promoted" : nil)
    }

    /// `SENTINEL FAILOVER`: the Sentinels switch to a replica and the old primary follows it.
    func gracefulFailover() -> String? {
        guard let old = primaryPort() else { return "no primary" }
        var answer: String?
        for port in sentinelPorts where answer == nil {
            let socket = try? LineClient(port: Int(port), timeout: 1)
            answer = try? socket?.request("SENTINEL FAILOVER \(masterName)", timeout: 1)
        }
        guard answer == "+OK" else {
            return heal("SENTINEL FAILOVER answered \(answer ?? "nothing")")
        }
        let new = waitPrimaryChange(from: old, timeout: Self.failoverTimeout)
        return heal(new == nil ? "no replica promoted" : nil)
    }

    /// A failover to a replica that lacks the latest writes: one replica is frozen (SIGSTOP)
    /// for `seconds` while the primary and the other replica take writes (kezekd's `WAIT 1` is
    /// met by the other); then the other is frozen too, long enough for the Sentinels to deem
    /// it down, the primary is killed, and only the lagging one is let go: it is the one
    /// replica the Sentinels can promote. The up-to-date replica is let go once it is promoted
    /// (it resyncs from the new primary, losing what the lagging one lacked), and the old
    /// primary restarts as a replica.
    func failoverToLaggingReplica(lagFor seconds: Double) -> String? {
        guard let old = primaryPort(), let primary = server(old) else { return "no primary" }
        let replicas = redisPorts.filter { $0 != old }
        guard let lagging = server(replicas[0]), let upToDate = server(replicas[1]) else {
            return "no replica"
        }
        lagging.signal(SIGSTOP)
        usleep(UInt32(seconds * 1_000_000))
        upToDate.signal(SIGSTOP)
        usleep(UInt32(downAfterMilliseconds + 500) * 1000)
        primary.killNow()
        lagging.signal(SIGCONT)
        let new = waitPrimaryChange(from: old, timeout: Self.failoverTimeout)
        upToDate.signal(SIGCONT)
        try? startServer(old, replicaOf: new)
        if new == nil { return heal("no replica promoted") }
        return heal(new == replicas[0] ? nil : "the up-to-date replica was promoted")
    }

    /// Waits for the group to be whole; `note`, or what is still wrong.
    private func heal(_ note: String?) -> String? {
        do { try waitHealthy(timeout: Self.failoverTimeout) } catch {
            return [note, "\(error)"].compactMap { $0 }.joined(separator: "; ")
        }
        return note
    }
}
