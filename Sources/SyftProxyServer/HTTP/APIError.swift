import Hummingbird
import SyftProxyCore

/// An error answer with a body clients can read: `{"detail": "..."}` as FastAPI writes it,
/// or the 422 list form for validation. Every message says what went wrong and what to do.
public struct APIError: Error, HTTPResponseError, Sendable {
    public var status: HTTPResponse.Status
    public var body: JSONValue
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, _ detail: String, headers: HTTPFields = [:]) {
        self.status = status
        self.body = .object(["detail": .string(detail)])
        self.headers = headers
    }

    public init(validation: ValidationError) {
        self.status = .unprocessableContent
        self.body = validation.json
        self.headers = [:]
    }

    public static func notFound(_ what: String) -> APIError { APIError(.notFound, what) }

    public static func storeUnavailable(_ error: any Error) -> APIError {
        APIError(.serviceUnavailable, "the request store is unavailable (\(error)); retry shortly", headers: [.retryAfter: "1"])
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        JSONResponse.make(body, status: status, headers: headers)
    }
}
