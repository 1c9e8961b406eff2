/// Checks one holder's history at one provider for linearizability against `HolderModel`
/// (Wing and Gong's search with Lowe's memo of visited configurations).
///
/// Answered requests must each take effect at one instant between their sending and their
/// answer. An unknown request takes effect at most once, at any instant after it was sent, or
/// never (as Jepsen treats an indeterminate operation). Failed requests had no effect and are
/// left out. The search runs over the answered requests; an unknown one is used only where the
/// answers need it: a configuration counts how many unknown requests of each kind it has used,
/// and any unused one sent before an instant may act then (the kinds' uses need not be told
/// apart, since every unknown request of a kind can act at any instant after it was sent). A
/// configuration that used at least as many of each kind as another one at the same point adds
/// nothing, which keeps the search polynomial in practice.
public struct HolderLinearizability {
    public enum Verdict: Equatable { case linearizable, notLinearizable, undecided }

    let answered: [HistoryOperation]
    /// Sending times of the unknown requests of each kind, in order.
    let unknownCancels: [UInt64], unknownBooks: [UInt64], unknownWaits: [UInt64]
    /// Configurations the search may visit before it gives up (`undecided`).
    let budget: Int

    /// The states the holder may be in before the first request (none, at the start of a run).
    let initial: HolderStates

    public init(
        _ operations: [HistoryOperation], initial: HolderStates = .none, budget: Int = 400_000
    ) {
        self.initial = initial
        answered = operations.filter { !$0.isUnknown && !$0.isFailed }.sorted {
            $0.invoked < $1.invoked
        }
        let unknown = operations.filter { $0.isUnknown && $0.request.writes }
        unknownCancels = unknown.filter { $0.request == .cancel }.map(\.invoked).sorted()
        unknownBooks = unknown.filter { $0.request == .book }.map(\.invoked).sorted()
        unknownWaits = unknown.filter { $0.request == .bookWait }.map(\.invoked).sorted()
        self.budget = budget
    }

    /// Unknown requests used so far, by kind, and the latest answer among the requests
    /// linearized (a bound on the instants reached: every unknown request sent before it may
    /// have acted since, whichever order the search took the answered ones in).
    private struct Used: Hashable {
        var cancels = 0, books = 0, waits = 0
        var clock: UInt64 = 0
        func covers(_ other: Used) -> Bool {
            cancels <= other.cancels && books <= other.books && waits <= other.waits
                && clock >= other.clock
        }
    }

    private struct Point: Hashable {
        /// Every answered request below `done` is linearized, and those in `ahead` too.
        var done: Int
        var ahead: [Int]
        var state: HolderStates
    }

    private struct Configuration {
        var point: Point
        var used: Used
    }

    public func check() -> Verdict {
        var visited: [Point: [Used]] = [:]
        var visits = 0
        var stack = [HolderStates.none, .booked, .waiting].filter {
            !initial.intersection($0).isEmpty
        }.map {
            Configuration(point: Point(done: 0, ahead: [], state: $0), used: Used())
        }
        while let configuration = stack.popLast() {
            if configuration.point.done == answered.count { return .linearizable }
            let seen = visited[configuration.point, default: []]
            if seen.contains(where: { $0.covers(configuration.used) }) { continue }
            visited[configuration.point] =
                seen.filter { !configuration.used.covers($0) } + [configuration.used]
            visits += 1
            if visits > budget { return .undecided }
            stack.append(contentsOf: successors(of: configuration))
        }
        return .notLinearizable
    }

    private func successors(of configuration: Configuration) -> [Configuration] {
        let point = configuration.point
        let ahead = Set(point.ahead)
        // Lowe's rule: the next linearized request cannot come after one that was answered
        // before it was sent.
        var firstAnswer = UInt64.max
        var index = point.done
        var candidates: [Int] = []
        while index < answered.count, answered[index].invoked <= firstAnswer {
            if !ahead.contains(index) {
                candidates.append(index)
                firstAnswer = min(firstAnswer, answered[index].completed)
            }
            index += 1
        }
        var next: [Configuration] = []
        for candidate in candidates.reversed() where answered[candidate].invoked <= firstAnswer {
            let operation = answered[candidate]
            var spent = configuration.used
            spent.clock = max(spent.clock, operation.completed)
            for (state, used) in reachable(from: point.state, spent, until: spent.clock) {
                let after = HolderModel.step(state, operation)
                if after.isEmpty { continue }
                var moved = point
                moved.state = after
                moved.ahead.append(candidate)
                moved.ahead.sort()
                while let first = moved.ahead.first, first == moved.done {
                    moved.ahead.removeFirst()
                    moved.done += 1
                }
                next.append(Configuration(point: moved, used: used))
            }
        }
        return next
    }

    /// The states reachable before `until` without an answered request: a waiting holder's
    /// promotion or loss of its place, and unused unknown requests sent before then. The
    /// cheapest ways first (tried last: the search takes from the end).
    private func reachable(from state: HolderStates, _ used: Used, until: UInt64) -> [(
        HolderStates, Used
    )] {
        func available(_ times: [UInt64], _ count: Int) -> Bool {
            count < times.count && times[count] < until
        }
        var found: [(HolderStates, Used)] = [(state, used)]
        var index = 0
        while index < found.count && found.count < 12 {
            let (current, spent) = found[index]
            index += 1
            var moves: [(HolderStates, Used)] = []
            if current == .waiting {
                moves += [(.booked, spent), (.none, spent)]
            }
            if current == .booked, available(unknownCancels, spent.cancels) {
                var more = spent
                more.cancels += 1
                moves.append((.none, more))
            }
            if current == .none {
                if available(unknownBooks, spent.books) {
                    var more = spent
                    more.books += 1
                    moves.append((.booked, more))
                } else if available(unknownWaits, spent.waits) {
                    var more = spent
                    more.waits += 1
                    moves.append((.booked, more))
                }
                if available(unknownWaits, spent.waits) {
                    var more = spent
                    more.waits += 1
                    moves.append((.waiting, more))
                }
            }
            for move in moves
            where !found.contains(where: { $0.0 == move.0 && $0.1.covers(move.1) }) {
                found.append(move)
            }
        }
        return found.reversed()
    }

    /// The shortest run of consecutive answered requests that no order explains whatever the
    /// holder's state before it (with every unknown request sent before its end, which only
    /// adds possibilities): the history up to the first answer that cannot be explained,
    /// trimmed from the front while it still fails.
    public static func smallestFailing(_ operations: [HistoryOperation], budget: Int = 50_000)
        -> [HistoryOperation]
    {
        let answered = operations.filter { !$0.isUnknown && !$0.isFailed }.sorted {
            $0.invoked < $1.invoked
        }
        let unknown = operations.filter { $0.isUnknown && $0.request.writes }
        func fails(_ window: ArraySlice<HistoryOperation>, from initial: HolderStates) -> Bool {
            HolderLinearizability(Array(window) + unknown, initial: initial, budget: budget).check()
                == .notLinearizable
        }
        // The shortest failing prefix (failing is monotone in the prefix's length).
        var low = 1, high = answered.count
        while low < high {
            let middle = (low + high) / 2
            if fails(answered[..<middle], from: .none) { high = middle } else { low = middle + 1 }
        }
        var start = high - 1
        while start > 0 && !fails(answered[start..<high], from: .all) { start -= 1 }
        let window = answered[start..<high]
        let end = window.map(\.completed).max() ?? 0
        return (Array(window) + unknown.filter { $0.invoked < end }).sorted {
            $0.invoked < $1.invoked
        }
    }
}
