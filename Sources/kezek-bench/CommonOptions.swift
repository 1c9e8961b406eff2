// Options every subcommand takes, and turning them into a load environment.
import ArgumentParser
import Foundation

struct CommonOptions: ParsableArguments {
    @Option(help: "Daemon address HOST:PORT (loopback only: 127.0.0.0/8, [::1], localhost).")
    var target = "127.0.0.1:7379"

    @Option(help: "Send AUTH <token> first on every connection.")
    var auth: String?

    @Option(help: "Event loops (threads) to spread the connections over.")
    var threads = 1

    @Option(help: "Seed for the workload generator.")
    var seed: UInt64 = 1

    @Option(
        help:
            "Suffix for provider and holder ids, so runs do not collide (default: fresh per run; '' for bare ids)."
    )
    var tag: String?

    @Option(name: .customLong("time-limit"), help: "Upper bound on any one phase, in seconds.")
    var timeLimit = 300.0

    @Flag(help: "Print the summary as one JSON object on stdout (the text summary goes to stderr).")
    var json = false

    @Option(
        help: "Write the latency percentile distribution (HdrHistogram .hgrm, ms) to this file.")
    var hgrm: String?

    @Option(help: "Write a latency-by-percentile chart (SVG) to this file.")
    var plot: String?

    @Flag(help: "Send requests as RESP arrays of bulk strings instead of inline lines.")
    var resp = false

    @Flag(name: .customLong("no-check"), help: "Skip the SEATS/STATUS invariant check.")
    var noCheck = false

    func validate() throws {
        guard threads >= 1, threads <= 64 else { throw ValidationError("--threads must be 1...64") }
        guard timeLimit > 0, timeLimit <= 3600 else {
            throw ValidationError("--time-limit must be within (0, 3600]")
        }
    }

    /// The run's id tag: given, or a fresh random one.
    var effectiveTag: String {
        if let tag { return tag }
        return "r" + String(UInt32.random(in: 0x100000...0xFFFFFF), radix: 16)
    }

    /// Resolves the target; a non-loopback target stops the program with exit status 2.
    func environment(connections: Int) throws -> LoadEnvironment {
        let address: TargetAddress
        do {
            address = try TargetAddress.parse(target)
        } catch {
            FileHandle.standardError.write("kezek-bench: \(error)\n".data(using: .utf8)!)
            throw ExitCode(2)
        }
        // A peer that closes while we write must surface as EPIPE, not kill the process.
        signal(SIGPIPE, SIG_IGN)
        RequestBatch.defaultEncoding = resp ? .resp : .inline
        return LoadEnvironment(
            target: address, connections: connections, threads: threads, auth: auth,
            timeLimit: timeLimit, progress: ProgressBar())
    }

    /// Prints the report (text, and JSON if asked), writes the .hgrm and SVG files, and
    /// returns the exit status: 1 when an invariant failed or the run could not reach the
    /// daemon, 0 otherwise.
    func finish(_ report: RunReport, latency: [SVGPlot.Series]) throws -> Int32 {
        if let hgrm, let first = latency.first {
            do { try HgrmWriter.write(first.histogram, to: hgrm) } catch {
                report.warn("cannot write \(hgrm): \(error)")
            }
        }
        if let plot {
            do { try SVGPlot.write(title: report.plotTitle, series: latency, to: plot) } catch {
                report.warn("cannot write \(plot): \(error)")
            }
        }
        let text = report.text()
        if json {
            FileHandle.standardError.write(text.data(using: .utf8)!)
            print(report.json().render())
        } else {
            print(text, terminator: "")
        }
        return report.exitCode
    }
}
