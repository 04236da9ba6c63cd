import Hummingbird
import Logging
import SyftProxyCore

/// Outermost middleware: every answer, error or not, is JSON with a status a client can act
/// on, carries the replica's id, and is counted. An error nobody anticipated is a 500 that is
/// logged with the request, never a dropped connection.
struct ErrorMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext
    let environment: ProxyEnvironment

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as APIError {
            response = JSONResponse.make(error.body, status: error.status, headers: error.headers)
        } catch let error as StoreError {
            context.logger.warning("store failure", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            let api = APIError.storeUnavailable(error)
            response = JSONResponse.make(api.body, status: api.status, headers: api.headers)
        } catch let error as HTTPError {
            let detail = error.body ?? Self.defaultDetail(error.status, path: request.uri.path)
            response = JSONResponse.make(["detail": .string(detail)], status: error.status, headers: error.headers)
        } catch is CancellationError {
            response = JSONResponse.make(["detail": "the server is shutting down; retry on another replica"], status: .serviceUnavailable, headers: [.retryAfter: "1"])
        } catch {
            context.logger.error("unhandled error", metadata: ["error": "\(error)", "path": "\(request.uri.path)"])
            response = JSONResponse.make(["detail": .string("internal error: \(error)")], status: .internalServerError)
        }
        response.headers[.replicaID] = environment.replicaID
        environment.metrics.http(status: response.status.code)
        log(request, response, context: context, elapsed: ContinuousClock.now - started)
        return response
    }

    /// Access log: failures at info (a 5xx at warning), successes at debug so a busy replica's
    /// log stays readable. Request id and trace id tie a line to the call across apps.
    private func log(_ request: Request, _ response: Response, context: Context, elapsed: Duration) {
        let code = response.status.code
        let level: Logger.Level = code >= 500 ? .warning : code >= 400 ? .info : .debug
        guard context.logger.logLevel <= level else { return }
        var metadata: Logger.Metadata = [
            "method": "\(request.method.rawValue)", "path": "\(request.uri.path)", "status": "\(code)", "client": "\(context.clientAddress)",
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
