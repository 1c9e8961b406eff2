// The fair rounds a nemesis run plays while the seat workload goes on: one round after
// another, each on providers of its own, opened, applied to, closed and drawn under the same
// faults; the clients APPLY, WITHDRAW and read RESULT while a round is open, and read RESULT
// once it is drawn. While a round is undrawn every BOOK answers `+ROUND`, which the seat
// model counts as a request without effect (PROTOCOL.md, "Fair rounds").
import Foundation
import KezekClientSupport
import KezekDraw
import KezekNemesis

final class NemesisRounds: @unchecked Sendable {
    enum State { case open, drawn }

    /// The admin's client number in the history (its DRAW requests).
    static let adminClient = -2
    /// Applicants each client drives (a holder's writes come from one client, in order).
    static let holdersPerClient = 3
    /// Providers of a round, with 2 or 3 seats each: fewer seats than applicants.
    static let providersPerRound = 4
    static let choicesPerApplicant = 3
    let openSeconds = 5.0
    let drawnSeconds = 8.0
    let gapSeconds = 6.0
    /// How long the admin keeps trying to finish a round once the run's time is up.
    let finishSeconds = 60.0

    let clients: Int
    private let seed: UInt64
    private let lock = NSLock()
    private var specs: [RoundSpec] = []
    private var current: (spec: RoundSpec, state: State)?

    init(clients: Int, seed: UInt64) {
        self.clients = clients
        self.seed = seed
    }

    var all: [RoundSpec] { lock.withLock { specs } }
    var phase: (spec: RoundSpec, state: State)? { lock.withLock { current } }

    static func holder(round: String, client: Int, index: Int) -> String {
        "\(round).c\(client).\(index)"
    }

    /// Every applicant of `round` any client may have sent a request for.
    func holders(of round: String) -> [String] {
        (0..<clients).flatMap { client in
            (0..<Self.holdersPerClient).map { Self.holder(round: round, client: client, index: $0) }
        }
    }

    private func spec(_ number: Int) -> RoundSpec {
        var random = SplitMix64(workloadSeed: seed &+ UInt64(number) &* 0x9E37_79B9)
        let name = "nr\(number)"
        return RoundSpec(
            name: name, seed: String(random.next(), radix: 16),
            providers: (1...Self.providersPerRound).map { "\(name).q\($0)" },
            capacity: (1...Self.providersPerRound).map { 2 + $0 % 2 })
    }

    /// Plays rounds until `deadline` (none starts that could not be drawn by then), on the
    /// admin's own client; the round under way when time is up is still finished.
    func drive(admin: GatewayClient, until deadline: Double) {
        var number = 0
        let giveUp = deadline + finishSeconds
        while monotonicNow() + openSeconds + 5 < deadline {
            number += 1
            let round = spec(number)
            lock.withLock { specs.append(round) }
            let created = zip(round.providers, round.capacity).allSatisfy { provider, seats in
                admin.admin("PROVIDER \(provider) \(seats)", until: giveUp) { $0 == "+OK" }
            }
            let opened =
                created
                && admin.admin(
                    "ROUND OPEN \(round.name) \(SHA256.hex(round.seed)) CHOICES "
                        + "\(Self.choicesPerApplicant)",
                    until: giveUp
                ) { $0 == "+OK" || $0.hasPrefix("-ERR round exists") }
            // A round not drawn has no draw.csv: the checker names it.
            guard opened else { return }
            lock.withLock { current = (round, .open) }
            pause(openSeconds)
            let drawn =
                admin.admin("ROUND CLOSE \(round.name)", until: giveUp) { $0.hasPrefix("+CLOSED") }
                && admin.draw(round, until: giveUp)
            guard drawn else {
                lock.withLock { current = nil }
                return
            }
            lock.withLock { current = (round, .drawn) }
            pause(min(drawnSeconds, max(0, deadline - monotonicNow())))
            lock.withLock { current = nil }
            pause(min(gapSeconds, max(0, deadline - monotonicNow())))
        }
    }

    private func pause(_ seconds: Double) { if seconds > 0 { usleep(UInt32(seconds * 1e6)) } }
}
