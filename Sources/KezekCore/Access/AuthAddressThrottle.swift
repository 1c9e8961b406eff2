import Synchronization

/// Failed AUTHs per client address, across every loop thread and connection: once an address
/// has failed `auth-address-max-failures` times within `auth-address-window` seconds, its AUTHs
/// are refused unchecked until the window ends, so opening new connections does not buy an
/// attacker new guesses. Touched only by AUTH, never on the booking path.
final class AuthAddressThrottle: Sendable {
    private struct Entry {
        var failures: Int
        var windowStart: UInt64
    }
    private let entries = Mutex<[String: Entry]>([:])
    private let maxFailures: Int
    private let windowNanos: UInt64

    /// Addresses tracked at once; past it, those whose window ended are forgotten first.
    static let maxTrackedAddresses = 65_536

    init(maxFailures: Int, windowSeconds: Double) {
        self.maxFailures = maxFailures
        windowNanos = UInt64(windowSeconds * 1e9)
    }

    /// Whether `address` may try a password now.
    func mayTry(_ address: String, now: UInt64) -> Bool {
        entries.withLock { entries in
            guard let entry = entries[address] else { return true }
            return entry.failures < maxFailures || now &- entry.windowStart >= windowNanos
        }
    }

    func noteFailure(_ address: String, now: UInt64) {
        entries.withLock { entries in
            if var entry = entries[address], now &- entry.windowStart < windowNanos {
                entry.failures += 1
                entries[address] = entry
                return
            }
            if entries.count >= Self.maxTrackedAddresses {
                entries = entries.filter { now &- $0.value.windowStart < windowNanos }
                if entries.count >= Self.maxTrackedAddresses { entries.removeAll() }
            }
            entries[address] = Entry(failures: 1, windowStart: now)
        }
    }

    /// The address part of `host:port` or `[v6]:port`.
    static func host(of peer: String) -> String {
        guard let colon = peer.lastIndex(of: ":") else { return peer }
        return String(peer[..<colon])
    }
}
