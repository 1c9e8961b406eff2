import Hummingbird
import KezekCore

/// The admin listener's pages. Each reads shared state through atomics and locks that the
/// booking loops hold only briefly; none takes a loop's time.
enum AdminRoutes {
    static func router(state: ServerState, metrics: MetricsPage) -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in text(.ok, "ok\n") }
        router.get("/readyz") { _, _ in
            let (isReady, detail) = state.readiness
            return text(isReady ? .ok : .serviceUnavailable, detail + "\n")
        }
        router.get("/metrics") { _, _ in
            text(.ok, metrics.render(), contentType: "text/plain; version=0.0.4")
        }
        return router
    }

    static func text(
        _ status: HTTPResponse.Status, _ body: String, contentType: String = "text/plain"
    ) -> Response {
        Response(
            status: status,
            headers: [.contentType: contentType],
            body: ResponseBody(byteBuffer: ByteBuffer(string: body))
        )
    }
}
