import Hummingbird

/// gzip for large JSON answers (a batch of inbox items, a big result) when the client says
/// it accepts it. The middleware records the client's preference for the duration of the
/// request; JSONResponse compresses when the body is worth it.
enum ResponseCompression {
    @TaskLocal static var acceptsGzip = false
    /// Below this a gzip header and the CPU cost outweigh the bytes saved.
    static let minimumBytes = 1024

    static func accepts(gzipIn header: String?) -> Bool {
        guard let header else { return false }
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            guard let coding = fields.first, coding == "gzip" || coding == "*" else { continue }
            // "gzip;q=0" means the client refuses it.
            if let quality = fields.dropFirst().first(where: { $0.hasPrefix("q=") }), Double(quality.dropFirst(2)) == 0 { return false }
            return true
        }
        return false
    }
}

struct CompressionMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let accepts = ResponseCompression.accepts(gzipIn: request.headers[.acceptEncoding])
        guard accepts else { return try await next(request, context) }
        return try await ResponseCompression.$acceptsGzip.withValue(true) { try await next(request, context) }
    }
}
