import Hummingbird
import NIOCore

/// GET /dashboard and its script and style sheet, embedded in the binary at build time
/// (Resources/dashboard, see OpenAPIEmbed). The shell loads without a key and shows nothing
/// until the operator's key works; every figure comes from /admin/*. Script and style are
/// files of their own so the Content-Security-Policy needs no 'unsafe-inline'.
struct DashboardRoutes: Sendable {
    let environment: ProxyEnvironment

    static let securityHeaders: HTTPFields = [
        .contentSecurityPolicy:
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
        .contentTypeOptions: "nosniff",
        .frameOptions: "DENY",
        .referrerPolicy: "no-referrer",
        .cacheControl: "no-store",
    ]

    func register(on router: Router<ProxyRequestContext>) {
        let off = environment.adminKeys.isEmpty
        func serve(_ text: String, _ type: String) -> @Sendable (Request, ProxyRequestContext) async throws -> Response {
            let body = ByteBuffer(string: text)
            return { _, _ in
                guard !off else { throw APIError(.notFound, AdminAuthMiddleware.offDetail) }
                var headers = Self.securityHeaders
                headers[.contentType] = type
                return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: body))
            }
        }
        router.get("/dashboard", use: serve(DashboardAssets.html, "text/html; charset=utf-8"))
        router.get("/dashboard/dashboard.js", use: serve(DashboardAssets.js, "text/javascript; charset=utf-8"))
        router.get("/dashboard/dashboard.css", use: serve(DashboardAssets.css, "text/css; charset=utf-8"))
    }
}
