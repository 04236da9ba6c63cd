import Foundation
import Hummingbird

/// Refuses a path that is not in its one canonical spelling before any route sees it. The
/// router splits on "/" and drops empty segments, and proxies or clients may resolve dot
/// segments or decode %2F differently from it, so "//rpc/send", "/rpc/./send" or
/// "/rpc%2Fsend" could reach a route under a spelling that a check written against the raw
/// path would miss. Such a path is answered 400 with the reason, never routed.
struct PathGuardMiddleware: RouterMiddleware {
    typealias Context = ProxyRequestContext

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let problem = PathGuard.problem(in: request.uri.path) {
            throw APIError(.badRequest, "path '\(request.uri.path)' is refused: \(problem); send the path in its plain form, such as /rpc/send")
        }
        return try await next(request, context)
    }
}

public enum PathGuard {
    /// Why `path` (as sent, before percent-decoding) is not canonical, or nil when it is.
    public static func problem(in path: String) -> String? {
        guard path.hasPrefix("/") else { return "it does not start with '/'" }
        if path == "/" { return nil }
        for segment in path.dropFirst().split(separator: "/", omittingEmptySubsequences: false) {
            if segment.isEmpty { return "it has an empty segment ('//' or a trailing '/')" }
            if segment.contains("\\") { return "it contains a backslash" }
            let lowered = segment.lowercased()
            if lowered.contains("%2f") { return "it contains an encoded '/' (%2F)" }
            if lowered.contains("%5c") { return "it contains an encoded '\\' (%5C)" }
            let decoded = segment.removingPercentEncoding ?? String(segment)
            if decoded == "." || decoded == ".." { return "it contains a '\(decoded)' segment" }
        }
        return nil
    }
}
