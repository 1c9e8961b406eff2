import Synchronization

/// While Redis refuses the credentials (a password rotated under a running daemon), every
/// connection of the daemon (each loop's mirror, the lease keeper) retries after the same
/// delay, which doubles from `firstStepNanos` up to `redis-auth-retry-max`; and the daemon
/// logs the refusal at most once per step, whichever connection meets it first. The first
/// accepted AUTH resets it.
final class CredentialsBackoff: Sendable {
    static let firstStepNanos: UInt64 = 1_000_000_000
    private let maxStepNanos: UInt64
    private struct Steps {
        var step: UInt64 = 0
        /// Monotonic nanoseconds before which nothing is logged (the current step's end).
        var quietUntil: UInt64 = 0
    }
    private let steps = Mutex(Steps())

    init(maxSeconds: Double) {
        maxStepNanos = max(UInt64(maxSeconds * 1e9), Self.firstStepNanos)
    }

    /// Notes a refusal. Returns the delay before this connection's next try, and whether
    /// this refusal is the one to log (the first of its step).
    func refused(now: UInt64 = MonotonicClock.nanoseconds()) -> (retryNanos: UInt64, log: Bool) {
        steps.withLock { steps in
            if steps.step == 0 { steps.step = Self.firstStepNanos }
            guard now >= steps.quietUntil else { return (steps.quietUntil - now, false) }
            let step = steps.step
            steps.quietUntil = now + step
            steps.step = min(step * 2, maxStepNanos)
            return (step, true)
        }
    }

    /// Redis took the credentials: returns true when it had refused them (to log the end).
    func accepted() -> Bool {
        steps.withLock { steps in
            defer { steps = Steps() }
            return steps.step != 0
        }
    }

    var isRefusing: Bool { steps.withLock { $0.step != 0 } }
}
