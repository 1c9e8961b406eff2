import Glibc

/// Unix time in milliseconds: offers expire at absolute times kept in Redis, so that their
/// timers survive a restart (the monotonic clock starts again with each boot).
public enum WallClock {
    public static func milliseconds() -> Int {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return spec.tv_sec * 1000 + spec.tv_nsec / 1_000_000
    }
}
