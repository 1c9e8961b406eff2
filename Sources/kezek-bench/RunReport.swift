// The summary of a run: one section per phase (counts, throughput, latency), the invariant
// check, as text for people and as one JSON object for tools.
import Foundation

struct PhaseSection {
    let outcome: PhaseOutcome
    /// What was sent, e.g. "55,889 BOOK <p> a:<n> WAIT".
    let what: String
    var showLatency = true
    /// The phase sends BOOKs, so +BOOKED replies per second are worth showing.
    var books = false
    var notes: [String] = []
}

final class RunReport {
    let command: String
    let target: String
    var headline: String = ""
    var settings: [(String, JSON)] = []
    var phases: [PhaseSection] = []
    var invariants: InvariantReport?
    var figures: [(String, JSON)] = []
    var fatal: String?
    var plotTitle = "kezek-bench latency by percentile"
    private var warnings: [String] = []

    init(command: String, target: String) {
        self.command = command
        self.target = target
    }

    func warn(_ s: String) {
        warnings.append(s)
        FileHandle.standardError.write("kezek-bench: \(s)\n".data(using: .utf8)!)
    }

    var exitCode: Int32 {
        if fatal != nil { return 1 }
        if let inv = invariants, !inv.passed { return 1 }
        return 0
    }

    func text() -> String {
        var out = headline + "\n"
        for section in phases {
            let o = section.outcome
            let s = o.stats
            var line =
                "\(o.name.padding(9)) \(section.what): \(Format.count(s.replies)) replies in \(Format.fixed(o.wallSeconds, 3)) s"
            line += " (\(Format.count(Int(o.throughput))) replies/s"
            if section.books { line += ", \(Format.count(Int(o.bookingsPerSecond))) bookings/s" }
            line += ")"
            out += line + "\n"
            out += "          " + o.counts.line() + "\n"
            for (_, sample) in s.errorSamples.sorted(by: { $0.key < $1.key }) {
                out += "          e.g. \(sample)\n"
            }
            if section.showLatency {
                out += "          latency " + LatencySummary(o.histogram).line + "\n"
            }
            var trouble: [String] = []
            if o.connectionsOpened < o.connectionsWanted {
                trouble.append("connected \(o.connectionsOpened)/\(o.connectionsWanted)")
            }
            if s.lost > 0 { trouble.append("\(Format.count(s.lost)) requests without reply") }
            if s.timedOut { trouble.append("stopped at the time limit") }
            if s.unsolicited > 0 { trouble.append("\(s.unsolicited) unsolicited replies") }
            for (k, v) in s.problems.sorted(by: { $0.key < $1.key }) {
                trouble.append("\(k) (x\(v))")
            }
            if !trouble.isEmpty { out += "          ! " + trouble.joined(separator: "; ") + "\n" }
            for n in section.notes { out += "          " + n + "\n" }
        }
        if let fatal { out += "FAILED    \(fatal)\n" }
        if let inv = invariants {
            if inv.skipped {
                out += "check     skipped\n"
            } else {
                out +=
                    "check     \(Format.count(inv.providersChecked)) providers (SEATS), \(Format.count(inv.holdersChecked)) holders (STATUS): "
                out +=
                    inv.passed ? "all invariants hold\n" : "\(Format.count(inv.failures)) FAILED\n"
                for e in inv.examples { out += "          - \(e)\n" }
                if inv.failures > inv.examples.count {
                    out +=
                        "          ... and \(Format.count(inv.failures - inv.examples.count)) more\n"
                }
            }
        }
        return out
    }

    func json() -> JSON {
        var top: [(String, JSON)] = [("command", .string(command)), ("target", .string(target))]
        top += settings
        top += figures
        top.append(
            (
                "phases",
                .array(
                    phases.map { section in
                        let o = section.outcome
                        var counts: [(String, JSON)] = []
                        for kind in ObservedReply.allCases
                        where kind != .none && kind != .error
                            && (ObservedReply.reported.contains(kind) || o.counts[kind] > 0)
                        {
                            counts.append((kind.label, .int(o.counts[kind])))
                        }
                        counts.append(("errors", .int(o.counts[.error])))
                        var fields: [(String, JSON)] = [
                            ("name", .string(o.name)), ("what", .string(section.what)),
                            ("sent", .int(o.stats.sent)), ("replies", .int(o.stats.replies)),
                            ("lost", .int(o.stats.lost)), ("timed_out", .bool(o.stats.timedOut)),
                            ("connections", .int(o.connectionsOpened)),
                            ("wall_seconds", .double(o.wallSeconds)),
                            ("replies_per_second", .double(o.throughput)),
                            (
                                "bookings_per_second",
                                section.books ? .double(o.bookingsPerSecond) : .null
                            ),
                            ("counts", .object(counts)),
                            (
                                "errors_by_code",
                                .object(
                                    o.counts.errorsByCode.sorted { $0.key < $1.key }.map {
                                        ($0.key, .int($0.value))
                                    })
                            ),
                            (
                                "error_samples",
                                .object(
                                    o.stats.errorSamples.sorted { $0.key < $1.key }.map {
                                        ($0.key, .string($0.value))
                                    })
                            ),
                            (
                                "problems",
                                .object(
                                    o.stats.problems.sorted { $0.key < $1.key }.map {
                                        ($0.key, .int($0.value))
                                    })
                            ),
                        ]
                        if section.showLatency {
                            fields.append(("latency_us", LatencySummary(o.histogram).json))
                        }
                        if !section.notes.isEmpty {
                            fields.append(("notes", .array(section.notes.map { .string($0) })))
                        }
                        return .object(fields)
                    })
            ))
        if let inv = invariants {
            top.append(
                (
                    "invariants",
                    .object([
                        ("checked", .bool(!inv.skipped)), ("passed", .bool(inv.passed)),
                        ("providers_checked", .int(inv.providersChecked)),
                        ("holders_checked", .int(inv.holdersChecked)),
                        ("failures", .int(inv.failures)),
                        ("examples", .array(inv.examples.map { .string($0) })),
                    ])
                ))
        }
        if let fatal { top.append(("fatal", .string(fatal))) }
        top.append(("exit_code", .int(Int(exitCode))))
        return .object(top)
    }
}
