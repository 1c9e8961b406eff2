/// The holder limit while the run goes on, not only in the final state: a seat is certainly
/// held from the answer that showed it (`+BOOKED`, STATUS `+BOOKED`) until the first CANCEL
/// of that holder there that could have removed it was sent (answered or unknown: any CANCEL
/// not over before the read began). Nothing else takes a seat away (no offers, and a loss of
/// Redis's data must not). Where a holder certainly held seats at more providers at once than
/// the limit, it was over the limit.
struct HolderLimitTimeline {
    let operations: [HistoryOperation]
    let holderLimit: Int

    func check() -> [Anomaly] {
        guard holderLimit > 0 else { return [] }
        var byHolder: [String: [HistoryOperation]] = [:]
        for operation in operations where operation.request != .seats && !operation.isFailed {
            byHolder[operation.holder, default: []].append(operation)
        }
        var found: [Anomaly] = []
        for (holder, history) in byHolder.sorted(by: { $0.key < $1.key }) {
            if let witness = overLimit(history) {
                found.append(
                    Anomaly(
                        kind: .holderOverLimit, subject: holder,
                        detail:
                            "seats certainly held at \(witness.count) providers at once, limit "
                            + "\(holderLimit)", history: witness))
            }
        }
        return found
    }

    private struct Held {
        let start: UInt64
        let end: UInt64
        let shownBy: HistoryOperation
    }

    /// The answers that showed the seats held together past the limit, if any instant had more.
    private func overLimit(_ history: [HistoryOperation]) -> [HistoryOperation]? {
        var byProvider: [String: [HistoryOperation]] = [:]
        for operation in history { byProvider[operation.provider, default: []].append(operation) }
        var held: [Held] = []
        for (_, operations) in byProvider {
            // The CANCELs by their end; `earliestFrom[i]`: the first sending among the i-th on.
            let cancels = operations.filter { $0.request == .cancel }.sorted {
                $0.completed < $1.completed
            }
            var earliestFrom = [UInt64](repeating: .max, count: cancels.count + 1)
            for index in cancels.indices.reversed() {
                earliestFrom[index] = min(earliestFrom[index + 1], cancels[index].invoked)
            }
            for shown in operations
            where shown.outcome == .booked || shown.outcome == .statusBooked {
                // The first CANCEL not over before the answer's request was sent.
                var low = 0
                var high = cancels.count
                while low < high {
                    let middle = (low + high) / 2
                    if cancels[middle].completed > shown.invoked {
                        high = middle
                    } else {
                        low = middle + 1
                    }
                }
                let end = earliestFrom[low]
                if end > shown.completed {
                    held.append(Held(start: shown.completed, end: end, shownBy: shown))
                }
            }
        }
        // A sweep over the starts and ends (an end before a start at the same instant).
        let events = held.map { ($0.start, 1, $0) } + held.map { ($0.end, 0, $0) }
        var count: [String: Int] = [:]
        var latest: [String: HistoryOperation] = [:]
        for (_, isStart, seat) in events.sorted(by: { ($0.0, $0.1) < ($1.0, $1.1) }) {
            let provider = seat.shownBy.provider
            if isStart == 1 {
                count[provider, default: 0] += 1
                latest[provider] = seat.shownBy
                if count.values.filter({ $0 > 0 }).count > holderLimit {
                    return count.filter { $0.value > 0 }.keys.compactMap { latest[$0] }.sorted {
                        $0.completed < $1.completed
                    }
                }
            } else {
                count[provider, default: 0] -= 1
            }
        }
        return nil
    }
}
