/// The Prometheus text page of `/metrics`: every thread's counters summed at scrape time, so
/// the booking path only ever touches its own thread's counters.
public struct MetricsPage: Sendable {
    let metrics: ServerMetrics
    let table: SeatTable
    let state: ServerState
    let inbox: InboxFollower?
    let source: PublicSource
    /// Districts given a label of their own at most (the label set stays bounded whatever the
    /// catalog); the rest are summed under `district="other"`.
    static let maxDistrictLabels = 100

    public init(server: KezekServer) {
        metrics = server.metrics
        table = server.table
        state = server.state
        inbox = server.inbox
        source = PublicSource(server: server)
    }

    public func render() -> String {
        let threads = metrics.threads
        var page = ""
        func header(_ name: String, _ type: String, _ help: String) {
            page += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func sum(_ value: (ThreadMetrics) -> Int) -> Int { threads.reduce(0) { $0 + value($1) } }

        header("kezek_requests_total", "counter", "Requests by command and reply kind.")
        let verbs: [Verb?] = Verb.allCases + [nil]
        for verb in verbs {
            for kind in ReplyKind.allCases {
                let count = sum { $0.requests(verb: verb, kind: kind) }
                guard count > 0 else { continue }
                page +=
                    "kezek_requests_total{command=\"\(verb.map { $0.name.lowercased() } ?? "unknown")\",reply=\"\(kind.label)\"} \(count)\n"
            }
        }
        header("kezek_bookings_total", "counter", "BOOK requests answered +BOOKED.")
        page += "kezek_bookings_total \(sum { $0.requests(verb: .book, kind: .booked) })\n"
        header("kezek_cancellations_total", "counter", "CANCEL requests answered +CANCELLED.")
        page +=
            "kezek_cancellations_total \(sum { $0.requests(verb: .cancel, kind: .cancelled) })\n"
        let providers = table.allProviders
        header(
            "kezek_refused_total", "counter",
            "BOOK requests answered +FULL (unmet demand), all providers.")
        page += "kezek_refused_total \(providers.reduce(0) { $0 + $1.refusedCount })\n"
        let seats = providers.map { $0.seats() }
        header("kezek_free_seats", "gauge", "Free seats, all providers.")
        page += "kezek_free_seats \(seats.reduce(0) { $0 + $1.free })\n"
        header(
            "kezek_oversold_seats", "gauge",
            "Bookings and offers past their provider's capacity (found so in Redis, kept), all providers."
        )
        page += "kezek_oversold_seats \(seats.reduce(0) { $0 + $1.over })\n"
        header(
            "kezek_oversold_providers", "gauge",
            "Providers holding more bookings and offers than their capacity.")
        page += "kezek_oversold_providers \(seats.filter { $0.over > 0 }.count)\n"
        header("kezek_providers", "gauge", "Providers known.")
        page += "kezek_providers \(providers.count)\n"
        header("kezek_open_connections", "gauge", "Open client connections.")
        page += "kezek_open_connections \(state.clients.load(ordering: .relaxed))\n"
        header("kezek_connections_rejected_total", "counter", "Connections refused at max-clients.")
        page += "kezek_connections_rejected_total \(sum { $0.connectionsRejected.load() })\n"
        header(
            "kezek_connections_shed_total", "counter",
            "Idle connections closed at max-clients to admit a new one.")
        page += "kezek_connections_shed_total \(sum { $0.connectionsShed.load() })\n"
        header("kezek_protocol_errors_total", "counter", "Malformed requests (connection closed).")
        page += "kezek_protocol_errors_total \(sum { $0.protocolErrors.load() })\n"
        header(
            "kezek_backpressure_pauses_total", "counter",
            "Times a client's reads paused for backpressure.")
        page += "kezek_backpressure_pauses_total \(sum { $0.backpressurePauses.load() })\n"
        page += "kezek_auth_failures_total \(sum { $0.authFailures.load() })\n"
        header(
            "kezek_connections_moved_total", "counter",
            "Connections moved to the loop thread owning their providers.")
        page += "kezek_connections_moved_total \(sum { $0.connectionsMoved.load() })\n"
        header("kezek_mirror_up", "gauge", "1 when every Redis connection takes writes.")
        page += "kezek_mirror_up \(state.allMirrorsUp ? 1 : 0)\n"
        header("kezek_ready", "gauge", "1 once the state is loaded from Redis.")
        page += "kezek_ready \(state.ready.load(ordering: .acquiring) ? 1 : 0)\n"
        let role = state.currentRole
        header(
            "kezek_role", "gauge",
            "1 for this daemon's role on its key prefix (starting, standby, primary, repairing, fenced)."
        )
        for candidate in [ServerState.Role.starting, .standby, .primary, .repairing, .fenced] {
            page += "kezek_role{role=\"\(candidate.name)\"} \(candidate == role ? 1 : 0)\n"
        }
        header(
            "kezek_lease_epoch", "gauge",
            "The fencing epoch this daemon writes under (0 before it first held the lease).")
        page += "kezek_lease_epoch \(state.epoch.load(ordering: .relaxed))\n"
        header(
            "kezek_repairs_total", "counter",
            "Times the whole state was written back after Redis lost data.")
        page += "kezek_repairs_total \(metrics.repairs.load(ordering: .relaxed))\n"
        header(
            "kezek_mirror_refused_batches_total", "counter",
            "Batches Redis refused with an error (out of memory, read-only, fenced).")
        page +=
            "kezek_mirror_refused_batches_total \(metrics.refusedBatches.load(ordering: .relaxed))\n"
        if let rounds = table.rules.rounds {
            header(
                "kezek_foreign_rounds", "gauge",
                "Rounds of other shards holding this one frozen (Redis Cluster): BOOK answers +ROUND."
            )
            page += "kezek_foreign_rounds \(rounds.foreignState.rounds.count)\n"
        }
        if let inbox {
            header(
                "kezek_inbox_applied_total", "counter",
                "Messages of other shards' holders applied from this shard's inbox (Redis Cluster)."
            )
            page += "kezek_inbox_applied_total \(inbox.applied.load(ordering: .relaxed))\n"
        }
        header("kezek_mirror_pending_writes", "gauge", "Writes not yet confirmed by Redis.")
        page += "kezek_mirror_pending_writes \(sum { $0.mirrorPending.load() })\n"
        header(
            "kezek_mirror_batches_total", "counter",
            "Batches Redis confirmed (one round trip each).")
        page += "kezek_mirror_batches_total \(sum { $0.mirrorBatches.load() })\n"
        header(
            "kezek_mirror_writes_total", "counter",
            "Writes Redis confirmed; divided by batches: the mean batch size.")
        page += "kezek_mirror_writes_total \(sum { $0.mirrorWrites.load() })\n"

        header(
            "kezek_district_seats", "gauge",
            "Seats per district (the part of a provider id before its first '.'): capacity, booked, offered, waiting, refused, first_choice (applicants of the last round ranking it first)."
        )
        for district in districtFigures() {
            for (kind, value) in [
                ("capacity", district.capacity), ("booked", district.booked),
                ("offered", district.offered),
                ("waiting", district.waiting), ("refused", district.refused),
                ("first_choice", district.firstChoice),
            ] {
                page +=
                    "kezek_district_seats{district=\"\(district.name)\",kind=\"\(kind)\"} \(value)\n"
            }
        }

        header(
            "kezek_request_duration_seconds", "histogram",
            "From reading a request to writing its reply.")
        var counts = [Int](repeating: 0, count: LatencyBuckets.bounds.count + 1)
        var sumSeconds = 0.0
        for thread in threads {
            for (index, count) in thread.latency.counts.enumerated() { counts[index] += count }
            sumSeconds += thread.latency.sumSeconds
        }
        var cumulative = 0
        for (index, bound) in LatencyBuckets.bounds.enumerated() {
            cumulative += counts[index]
            page += "kezek_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative += counts[LatencyBuckets.bounds.count]
        page += "kezek_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        page += "kezek_request_duration_seconds_sum \(sumSeconds)\n"
        page += "kezek_request_duration_seconds_count \(cumulative)\n"
        return page
    }

    /// Districts by name, the first `maxDistrictLabels` on their own, the rest as "other".
    private func districtFigures() -> [CityFigures.Figures] {
        let districts = CityFigures(source).districts
        guard districts.count > Self.maxDistrictLabels else { return districts }
        var other = CityFigures.Figures(name: "other")
        for district in districts.dropFirst(Self.maxDistrictLabels) { other.add(district) }
        return Array(districts.prefix(Self.maxDistrictLabels)) + [other]
    }
}
