import Foundation
import KezekClientSupport

/// Calls `body` until it returns a value or `timeout` seconds pass (bounded in time and in
/// count: at most `timeout / interval + 1` calls). Returns nil on timeout.
public func poll<T>(timeout: Double, interval: Double = 0.05, _ body: () -> T?) -> T? {
    let deadline = monotonicNow() + timeout
    let maxAttempts = Int(timeout / interval) + 2
    for _ in 0..<maxAttempts {
        if let value = body() { return value }
        if monotonicNow() >= deadline { break }
        usleep(useconds_t(interval * 1e6))
    }
    return nil
}

/// Sleeps for `seconds`.
public func pause(_ seconds: Double) {
    usleep(useconds_t(seconds * 1e6))
}
