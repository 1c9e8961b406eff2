/// Nanoseconds since the run began as seconds with milliseconds ("12.345"); "?" for never.
func secondsText(_ nanoseconds: UInt64) -> String {
    guard nanoseconds != .max else { return "?" }
    let milliseconds = nanoseconds / 1_000_000
    let fraction = String(milliseconds % 1000)
    return "\(milliseconds / 1000)." + String(repeating: "0", count: 3 - fraction.count) + fraction
}
