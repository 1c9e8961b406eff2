// The reads after a run, on any topology: SEATS of every provider and STATUS of every holder
// of the contended providers and of every fresh holder that was sent a BOOK, each recorded in
// the history as the final client's (client -1), from the node that serves the provider.
import Foundation
import KezekNemesis
import KezekClientSupport

struct FinalReads {
    let workload: NemesisWorkload
    let recorder: HistoryRecorder
    /// The connection to the node that serves a provider.
    let socket: (String) -> LineClient

    func readAll() throws {
        for provider in workload.providers {
            try read(.seats, "SEATS \(provider)", provider, "")
            for holder in workload.holders {
                try read(.status, "STATUS \(provider) \(holder)", provider, holder)
            }
        }
        // Every fresh holder that was sent a BOOK (so SEATS can be compared with them all).
        let sent = Set(
            recorder.all.filter { $0.provider == workload.freshProvider && $0.request == .book }
                .map(\.holder))
        try read(.seats, "SEATS \(workload.freshProvider)", workload.freshProvider, "")
        for holder in sent.sorted() {
            try read(
                .status, "STATUS \(workload.freshProvider) \(holder)", workload.freshProvider,
                holder)
        }
    }

    /// One read, retried while it fails (the node may still be loading), then recorded.
    private func read(
        _ request: HistoryOperation.Request, _ line: String, _ provider: String, _ holder: String
    ) throws {
        for _ in 0..<50 {
            let invoked = recorder.now()
            let reply = try socket(provider).request(line, timeout: 5)
            var outcome = GatewayClient.parse(reply, request)
            // A provider the daemon does not know: Redis lost it, and all it held.
            if reply.hasPrefix("-NOPROVIDER") {
                outcome =
                    request == .seats ? .seats(capacity: 0, booked: 0, waiting: 0) : .statusNone
            }
            if case .failed = outcome {
                usleep(100_000)
                continue
            }
            recorder.record(
                HistoryOperation(
                    client: HistoryChecker.finalClient, request: request, provider: provider,
                    holder: holder, invoked: invoked, completed: recorder.now(), outcome: outcome))
            return
        }
        throw NemesisError("no answer to \(line) after the run")
    }
}
