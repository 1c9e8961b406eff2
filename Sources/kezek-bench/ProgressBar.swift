// A one-line progress bar on stderr, drawn only when stderr is a terminal.
import Synchronization
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Replies received so far in the running phase, bumped by every worker thread.
final class ProgressCounter: Sendable {
    private let value = Atomic<Int>(0)
    func add(_ n: Int) { value.add(n, ordering: .relaxed) }
    var current: Int { value.load(ordering: .relaxed) }
}

struct ProgressBar {
    let enabled: Bool

    init(enabled: Bool = isatty(2) == 1) { self.enabled = enabled }

    /// Redraws the line: phase name, bar, done/total (or elapsed/duration), rate.
    func draw(phase: String, done: Int, total: Int?, elapsed: Double, duration: Double?) {
        guard enabled else { return }
        let width = 30
        var fraction = 0.0
        if let total, total > 0, total != Int.max {
            fraction = Double(done) / Double(total)
        } else if let duration, duration > 0 {
            fraction = elapsed / duration
        }
        fraction = min(1, max(0, fraction))
        let filled = Int(fraction * Double(width))
        let bar =
            String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        var text = "\(phase.padding(8)) [\(bar)] \(Format.count(done))"
        if let total, total != Int.max { text += "/\(Format.count(total))" }
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        text += "  \(Format.count(Int(rate)))/s  \(Format.fixed(elapsed, 1))s"
        if let duration { text += "/\(Format.fixed(duration, 0))s" }
        Self.writeToStandardError("\r\u{1B}[2K" + text)
    }

    func clear() {
        guard enabled else { return }
        Self.writeToStandardError("\r\u{1B}[2K")
    }

    /// Straight to fd 2: C's `stderr` is a global the Swift 6 checker cannot vouch for.
    private static func writeToStandardError(_ text: String) {
        var bytes = Array(text.utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
