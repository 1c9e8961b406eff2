/// The public figures of every provider and district (the part of a provider id before its
/// first `.`), read provider by provider with each provider's lock held only to copy five
/// numbers: a page load never holds up the booking path for long.
public struct CityFigures: Sendable {
    public struct Figures: Sendable, Equatable {
        public var name: String
        public var capacity = 0
        public var booked = 0
        public var offered = 0
        public var waiting = 0
        public var refused = 0
        /// Applicants of the last round who ranked it first (DEMAND's `first`).
        public var firstChoice = 0
        public var providers = 0
        public var free: Int { max(0, capacity - booked - offered) }

        /// Adds another's figures to these (a district's providers, the city's districts).
        mutating func add(_ other: Figures) {
            capacity += other.capacity
            booked += other.booked
            offered += other.offered
            waiting += other.waiting
            refused += other.refused
            firstChoice += other.firstChoice
            providers += other.providers
        }
    }

    /// Providers sorted by id, districts by name.
    public let providers: [Figures]
    public let districts: [Figures]
    public var total: Figures {
        districts.reduce(into: Figures(name: "all")) { $0.add($1) }
    }

    public init(_ source: PublicSource) {
        var providers: [Figures] = []
        for provider in source.table.allProviders {
            let seats = provider.seats()
            providers.append(
                Figures(
                    name: provider.id, capacity: seats.capacity, booked: seats.booked,
                    offered: seats.offered ?? 0,
                    waiting: seats.waiting, refused: seats.refused,
                    firstChoice: source.rounds.demand(of: provider.id).first, providers: 1))
        }
        providers.sort { $0.name < $1.name }
        var districts: [String: Figures] = [:]
        for figures in providers {
            let name = Self.district(of: figures.name)
            districts[name, default: Figures(name: name)].add(figures)
        }
        self.providers = providers
        self.districts = districts.values.sorted { $0.name < $1.name }
    }

    /// The district of a provider id: the part before its first `.` (all of it when none).
    public static func district(of provider: String) -> String {
        provider.split(separator: ".", maxSplits: 1).first.map(String.init) ?? provider
    }

    /// `/providers.csv`.
    public var providersCSV: String {
        var csv = "provider,capacity,booked,offered,waiting,refused\n"
        for p in providers {
            csv += "\(p.name),\(p.capacity),\(p.booked),\(p.offered),\(p.waiting),\(p.refused)\n"
        }
        return csv
    }
}

/// What the public pages read: the seat table and the rounds (both safe from any thread).
public struct PublicSource: Sendable {
    let table: SeatTable
    let rounds: RoundRegistry

    public init(server: KezekServer) {
        table = server.table
        rounds = server.rounds
    }

    /// Every round's id, the last opened first.
    public var roundIDs: [String] { rounds.roundIDs }
}
