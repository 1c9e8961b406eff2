/// Checks a whole recorded run: every holder's history at every provider for linearizability
/// (`HolderLinearizability`), then the invariants that tie holders together: capacity, the
/// holder limit, the waitlist's order, and the final state read after the faults healed
/// (requests of client `HistoryChecker.finalClient`, sent after every other one).
public struct HistoryChecker {
    public static let finalClient = -1

    public struct Result: Sendable {
        public var anomalies: [Anomaly] = []
        public var keysChecked = 0
        public var undecided = 0
        public var operations = 0
    }

    let operations: [HistoryOperation]
    let capacity: [String: Int]
    let holderLimit: Int

    public init(operations: [HistoryOperation], capacity: [String: Int], holderLimit: Int) {
        self.operations = operations
        self.capacity = capacity
        self.holderLimit = holderLimit
    }

    public func check() -> Result {
        var result = Result()
        result.operations = operations.count
        var byKey: [String: [HistoryOperation]] = [:]
        for operation in operations where operation.request != .seats {
            byKey[operation.provider + " " + operation.holder, default: []].append(operation)
        }
        for key in byKey.keys.sorted() {
            let history = byKey[key]!
            result.keysChecked += 1
            switch HolderLinearizability(history).check() {
            case .linearizable: break
            case .undecided: result.undecided += 1
            case .notLinearizable: result.anomalies.append(explain(key, history))
            }
        }
        result.anomalies += seatsReads() + finalState() + waitlistOrder(byKey)
        result.anomalies += HolderLimitTimeline(operations: operations, holderLimit: holderLimit)
            .check()
        return result
    }

    /// Names a holder's non-linearizable history: lost when a booking acknowledged and never
    /// asked to be cancelled afterwards is read as missing. The booking is looked for in the
    /// whole history: the smallest failing window may hold only reads (booked, then none).
    private func explain(_ key: String, _ history: [HistoryOperation]) -> Anomaly {
        let witness = HolderLinearizability.smallestFailing(history)
        let cancels = history.filter { $0.request == .cancel && !$0.isFailed }
        for read in witness where read.outcome == .statusNone || isWaiting(read.outcome) {
            let lost = history.first { write in
                (write.request == .book || write.request == .bookWait) && write.outcome == .booked
                    && write.completed < read.invoked
                    && !cancels.contains {
                        $0.invoked < read.completed && $0.completed > write.invoked
                    }
            }
            if let lost {
                return Anomaly(
                    kind: .lostAcknowledgedBooking, subject: key,
                    detail:
                        "acknowledged at \(seconds(lost.completed)), "
                        + "read as \(read.outcome) at \(seconds(read.completed))",
                    history: witness.contains {
                        $0.invoked == lost.invoked && $0.client == lost.client
                    } ? witness : [lost] + witness)
            }
        }
        let seen = witness.first { $0.outcome == .statusBooked }
        let madeBefore = history.contains {
            $0.outcome == .booked && $0.completed < (seen?.invoked ?? 0)
        }
        if let seen, !madeBefore,
            witness.contains(where: { $0.invoked > seen.completed && $0.outcome == .statusNone })
        {
            return Anomaly(
                kind: .dirtyRead, subject: key,
                detail:
                    "read as booked at \(seconds(seen.completed)), never acknowledged, then gone",
                history: witness)
        }
        return Anomaly(
            kind: .notLinearizable, subject: key,
            detail: "no order of these requests explains the answers",
            history: witness)
    }

    private func seatsReads() -> [Anomaly] {
        var found: [Anomaly] = []
        for operation in operations {
            guard case .seats(let seen, let booked, _) = operation.outcome else { continue }
            let expected = capacity[operation.provider] ?? seen
            if booked > expected {
                found.append(
                    Anomaly(
                        kind: .oversold, subject: operation.provider,
                        detail: "SEATS booked=\(booked) with capacity \(expected)",
                        history: [operation]))
            }
        }
        return found
    }

    private func finalState() -> [Anomaly] {
        let final = operations.filter { $0.client == Self.finalClient }
        var found: [Anomaly] = []
        var bookedAt: [String: [HistoryOperation]] = [:]
        var seatsOf: [String: HistoryOperation] = [:]
        var seatsOfHolder: [String: [HistoryOperation]] = [:]
        for operation in final {
            if case .seats = operation.outcome { seatsOf[operation.provider] = operation }
            if operation.outcome == .statusBooked {
                bookedAt[operation.provider, default: []].append(operation)
                seatsOfHolder[operation.holder, default: []].append(operation)
            }
        }
        for (provider, read) in seatsOf.sorted(by: { $0.key < $1.key }) {
            guard case .seats(_, let booked, _) = read.outcome else { continue }
            let statuses = bookedAt[provider] ?? []
            if let limit = capacity[provider], statuses.count > limit {
                found.append(
                    Anomaly(
                        kind: .oversold, subject: provider,
                        detail: "\(statuses.count) holders read as booked, capacity \(limit)",
                        history: statuses))
            }
            if statuses.count != booked {
                found.append(
                    Anomaly(
                        kind: .finalStateDiffers, subject: provider,
                        detail:
                            "SEATS booked=\(booked), STATUS booked for \(statuses.count) holders",
                        history: [read] + statuses))
            }
        }
        if holderLimit > 0 {
            for (holder, seats) in seatsOfHolder.sorted(by: { $0.key < $1.key })
            where seats.count > holderLimit {
                found.append(
                    Anomaly(
                        kind: .holderOverLimit, subject: holder,
                        detail: "\(seats.count) seats, limit \(holderLimit)", history: seats))
            }
        }
        return found
    }

    /// Two holders still waiting at the end: one that had certainly joined before the other
    /// could have joined must be ahead of it. Only holders whose place is certain are compared:
    /// `A` answered WAITING once and was only read (as WAITING) afterwards.
    private func waitlistOrder(_ byKey: [String: [HistoryOperation]]) -> [Anomaly] {
        struct Place {
            var holder: String; var joinedBy: UInt64; var earliest: UInt64; var position: Int;
            var history: [HistoryOperation]
        }
        var places: [String: [Place]] = [:]
        for (_, history) in byKey {
            let sorted = history.sorted { $0.invoked < $1.invoked }
            guard let final = sorted.last(where: { $0.client == Self.finalClient }),
                case .statusWaiting(let position) = final.outcome
            else { continue }
            // The last moment it was certainly not waiting; every join after it.
            let certain = sorted.last { operation in
                switch operation.outcome {
                case .statusNone, .statusBooked, .cancelled, .booked, .full: return true
                // CONFIRM answers NOTFOUND to a holder that waits (it has no offer): only a
                // CANCEL's NOTFOUND says the holder was not waiting.
                case .notFound: return operation.request == .cancel
                default: return false
                }
            }
            let after = sorted.filter { certain == nil || $0.completed > certain!.invoked }
            let joins = after.filter { $0.request == .bookWait }
            guard let earliest = joins.map(\.invoked).min() else { continue }
            let answered = after.filter { !$0.isFailed }
            var joinedBy = UInt64.max
            if let first = answered.firstIndex(where: {
                $0.request == .bookWait && isWaiting($0.outcome)
            }),
                answered[(first + 1)...].allSatisfy({
                    $0.request == .status && isWaiting($0.outcome)
                }),
                !answered[..<first].contains(where: { $0.request.writes })
            {
                joinedBy = answered[first].completed
            }
            places[final.provider, default: []].append(
                Place(
                    holder: final.holder, joinedBy: joinedBy, earliest: earliest,
                    position: position, history: sorted))
        }
        var found: [Anomaly] = []
        for (provider, list) in places.sorted(by: { $0.key < $1.key }) {
            for a in list where a.joinedBy != .max {
                for b in list where a.joinedBy < b.earliest && a.position > b.position {
                    found.append(
                        Anomaly(
                            kind: .waitlistOrder, subject: "\(provider) \(a.holder) \(b.holder)",
                            detail:
                                "\(a.holder) joined by \(seconds(a.joinedBy)), "
                                + "\(b.holder) not before \(seconds(b.earliest)), "
                                + "yet positions \(a.position) and \(b.position)",
                            history: a.history + b.history))
                }
            }
        }
        return found
    }

    private func isWaiting(_ outcome: HistoryOperation.Outcome) -> Bool {
        switch outcome {
        case .waiting, .statusWaiting: true
        default: false
        }
    }

    private func seconds(_ nanoseconds: UInt64) -> String {
        secondsText(nanoseconds) + "s"
    }
}
