import Hummingbird
import KezekCore

/// The public listener's routes. A drawn round never changes, so its publication (which
/// re-runs the allocation) is computed once and kept; the city page and the CSV are made at
/// most once per `freshnessNanos`, however many people load them (a flood of page loads must
/// not take CPU from the booking loops).
enum PublicRoutes {
    /// How old a served city page or providers.csv may be.
    static let freshnessNanos: UInt64 = 1_000_000_000

    /// A page made at most once per `freshnessNanos`.
    final class FreshPage: Sendable {
        private let kept = LockedBox<(madeAt: UInt64, text: String)?>(nil)
        private let make: @Sendable () -> String
        init(_ make: @escaping @Sendable () -> String) { self.make = make }

        func text() -> String {
            let now = MonotonicClock.nanoseconds()
            if let page = kept.withLock({ $0 }), now &- page.madeAt < PublicRoutes.freshnessNanos {
                return page.text
            }
            let text = make()
            kept.withLock { $0 = (now, text) }
            return text
        }
    }

    static func router(server: KezekServer) -> Router<BasicRequestContext> {
        let router = Router()
        let source = PublicSource(server: server)
        let drawn = LockedBox<[String: DrawPublication]>([:])
        @Sendable func publication(_ round: String) -> DrawPublication? {
            if let kept = drawn.withLock({ $0[round] }) { return kept }
            guard let made = DrawPublication.make(round, source: source) else { return nil }
            if made.csv != nil { drawn.withLock { $0[round] = made } }
            return made
        }
        let city = FreshPage { PublicPages.city(CityFigures(source), rounds: source.roundIDs) }
        let providersCSV = FreshPage { CityFigures(source).providersCSV }
        router.get("/") { _, _ in html(city.text()) }
        router.get("/providers.csv") { _, _ in
            AdminRoutes.text(.ok, providersCSV.text(), contentType: "text/csv; charset=utf-8")
        }
        router.get("/rounds/:round") { _, context in
            guard let id = context.parameters.get("round"), let round = publication(id) else {
                return notFound()
            }
            return html(PublicPages.round(round))
        }
        router.get("/rounds/:round/draw.csv") { _, context in
            guard let id = context.parameters.get("round"), let round = publication(id) else {
                return notFound()
            }
            guard let csv = round.csv else {
                return AdminRoutes.text(.notFound, "round \(id) is not drawn yet\n")
            }
            return AdminRoutes.text(.ok, csv, contentType: "text/csv; charset=utf-8")
        }
        return router
    }

    static func html(_ page: String) -> Response {
        AdminRoutes.text(.ok, page, contentType: "text/html; charset=utf-8")
    }

    static func notFound() -> Response {
        AdminRoutes.text(.notFound, "no such round\n")
    }
}
