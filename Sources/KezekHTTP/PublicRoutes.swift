import Hummingbird
import KezekCore

/// The public listener's routes. A drawn round never changes, so its publication (which
/// re-runs the allocation) is computed once and kept.
enum PublicRoutes {
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
        router.get("/") { _, _ in
            html(PublicPages.city(CityFigures(source), rounds: source.roundIDs))
        }
        router.get("/providers.csv") { _, _ in
            AdminRoutes.text(.ok, CityFigures(source).providersCSV, contentType: "text/csv; charset=utf-8")
        }
        router.get("/rounds/:round") { _, context in
            guard let id = context.parameters.get("round"), let round = publication(id) else { return notFound() }
            return html(PublicPages.round(round))
        }
        router.get("/rounds/:round/draw.csv") { _, context in
            guard let id = context.parameters.get("round"), let round = publication(id) else { return notFound() }
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
