import Hummingbird
import Logging
import SyftProxyCore

/// The outermost layer, which every answer leaves through: it settles who the caller is
/// (ClientAddress), turns any error into a JSON answer with a status a client can act on
/// (405 with Allow for a known path asked with another method), stamps the replica's id, counts
/// the answer and writes the access log. An error nobody anticipated is a 500 that is logged
/// with the request, never a dropped connection. Compression and the path guard run inside it.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let environment: ProxyEnvironment
    let routes: RouteMethods

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var context = context
        let trusted = environment.configuration.trustedProxies
        if !trusted.isEmpty {
            context.clientAddress = ClientAddress.resolve(peer: context.clientAddress, forwardedFor: request.headers[values: .xForwardedFor], trusted: trusted)
        }
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            // Built under the caller's compression preference, like any other answer.
            let accepts = ResponseCompression.accepts(gzipIn: request.headers[.acceptEncoding])
            response = ResponseCompression.$acceptsGzip.withValue(accepts) { errorResponse(for: error, request, context: context) }
        }
        response.headers[.replicaID] = environment.replicaID
        environment.metrics.http(status: response.status.code)
        log(request, response, context: context, elapsed: ContinuousClock.now - started)
        return response
    }

    private func errorResponse(for error: any Error, _ request: Request, context: Context) -> Response {
        switch error {
        case let error as APIError:
            return JSONResponse.make(error.body, status: error.status, headers: error.headers)
        case let error as StoreError:
            context.logger.warning("store failure", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            let api = APIError.storeUnavailable(error)
            return JSONResponse.make(api.body, status: api.status, headers: api.headers)
        case let error as HTTPError:
            let path = request.uri.path
            if error.status == .notFound {
                let allowed = routes.allowed(for: path)
                if !allowed.isEmpty, !allowed.contains(request.method) {
                    let list = allowed.map(\.rawValue).joined(separator: ", ")
                    return JSONResponse.make(
                        ["detail": .string("\(request.method.rawValue) is not allowed on \(path); it takes \(list) (see /openapi.json)")],
                        status: .methodNotAllowed, headers: [.allow: list])
                }
            }
            let detail = error.body ?? Self.defaultDetail(error.status, path: path)
            return JSONResponse.make(["detail": .string(detail)], status: error.status, headers: error.headers)
        case is CancellationError:
            return JSONResponse.make(["detail": "the server is shutting down; retry on another replica"], status: .serviceUnavailable, headers: [.retryAfter: "1"])
        default:
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            return JSONResponse.make(["detail": .string("internal error: \(error)")], status: .internalServerError)
        }
    }

    /// Access log: failures at info (a 5xx at warning), successes at debug so a busy replica's
    /// log stays readable. Request id and trace id tie a line to the call across apps.
    private func log(_ request: Request, _ response: Response, context: Context, elapsed: Duration) {
        let code = response.status.code
        let level: Logger.Level = code >= 500 ? .warning : code >= 400 ? .info : .debug
        guard context.logger.logLevel <= level else { return }
        let method = context.isHeadRequest ? "HEAD" : request.method.rawValue
        var metadata: Logger.Metadata = [
            "method": "\(method)", "path": "\(request.uri.path)", "status": "\(code)", "client": "\(context.clientAddress)",
            "duration_ms": "\(Double(elapsed.components.attoseconds / 1_000_000_000_000) / 1000 + Double(elapsed.components.seconds) * 1000)",
        ]
        if let id = response.headers[.requestID] { metadata["request_id"] = "\(id)" }
        if let trace = request.headers[.traceparent] { metadata["traceparent"] = "\(trace)" }
        if let identity = context.identity { metadata["identity"] = "\(identity)" }
        context.logger.log(level: level, "request", metadata: metadata)
    }

    static func defaultDetail(_ status: HTTPResponse.Status, path: String) -> String {
        switch status {
        case .notFound: "Not Found: no route for \(path); see /openapi.json"
        case .methodNotAllowed: "Method Not Allowed for \(path); see /openapi.json"
        default: status.reasonPhrase
        }
    }
}
