import HTTPTypes
import Hummingbird

/// HEAD wherever GET answers, with the same status and headers and no body: the request runs
/// as the GET, through the same middleware (the key check included), so no HEAD route is
/// registered. A HEAD the path does not take goes to the router as it came, which answers 405
/// or 404 like any other method.
struct HeadResponder<Base: HTTPResponder>: HTTPResponder where Base.Context == ProxyRequestContext {
    let base: Base
    let routes: RouteMethods

    func respond(to request: Request, context: ProxyRequestContext) async throws -> Response {
        guard request.method == .head, routes.takesHead(request.uri.path) else { return try await base.respond(to: request, context: context) }
        var head = request.head
        head.method = .get
        var context = context
        context.isHeadRequest = true
        var response = try await base.respond(to: Request(head: head, body: request.body), context: context)
        if let length = response.body.contentLength { response.headers[.contentLength] = String(length) }
        return response.createHeadResponse()
    }
}
