// A kezekd the nemesis asks `HEALTH` straight, not through its proxy (a fault on the client
// link must not make it look down): on every topology.
import KezekClientSupport

protocol HealthProbed {
    var port: UInt16 { get }
}

extension HealthProbed {
    /// nil when it does not answer.
    func health(timeout: Double = 0.5) -> String? {
        guard let socket = try? LineClient(port: Int(port), timeout: timeout) else { return nil }
        return try? socket.request("HEALTH", timeout: timeout)
    }

    var isServingPrimary: Bool {
        guard let reply = health() else { return false }
        return reply.hasPrefix("+OK") && reply.contains("role=primary")
    }

    /// Whether it says it holds its lease, serving or not (its mirror may be down).
    var claimsPrimary: Bool { health(timeout: 1)?.contains("role=primary") ?? false }
}
