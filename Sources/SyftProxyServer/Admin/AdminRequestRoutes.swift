import Hummingbird
import SyftProxyCore

/// GET /admin/requests, GET /admin/requests/{id}, POST /admin/requests/{id}/cancel, and the
/// dead letters: GET /admin/failed, POST /admin/failed/{id}/retry, POST /admin/failed/retry,
/// DELETE /admin/failed/{id}.
struct AdminRequestRoutes: Sendable {
    let environment: ProxyEnvironment
    var store: any RPCStore { environment.store }

    func register(on admin: RouterGroup<ProxyRequestContext>) {
        admin.get("requests") { request, _ in
            JSONResponse.make(AdminJSON.page(try await store.adminRequests(try Self.query(request, index: .requests)), key: "requests"))
        }
        admin.get("requests/:id") { _, context in
            let id = try context.pathParameter("id")
            guard let found = try await store.adminRequest(id: id) else { throw unknown(id) }
            return JSONResponse.make(AdminJSON.detail(found))
        }
        admin.post("requests/:id/cancel") { _, context in
            let id = try context.pathParameter("id")
            switch try await store.cancel(id: id, as: .cancelled, message: FailureMessages.cancelled) {
            case .done(let record):
                environment.metrics.finished(record)
                return JSONResponse.make(record.statusJSON)
            case .notApplicable(let record):
                throw APIError(.conflict, "request '\(id)' is already \(record.state.rawValue); only pending or processing requests can be cancelled")
            case .notFound: throw unknown(id)
            }
        }
        admin.get("failed") { request, _ in
            JSONResponse.make(AdminJSON.page(try await store.adminRequests(try Self.query(request, index: .failed)), key: "failed"))
        }
        admin.post("failed/:id/retry") { _, context in
            let id = try context.pathParameter("id")
            switch try await store.retry(id: id) {
            case .done(let record): return JSONResponse.make(record.statusJSON)
            case .notApplicable(let record):
                throw APIError(.conflict, "request '\(id)' is \(record.state.rawValue), not failed; only failed requests can be retried")
            case .notFound: throw unknown(id)
            }
        }
        admin.post("failed/retry") { request, _ in try await retryMany(request) }
        admin.delete("failed/:id") { _, context in
            let id = try context.pathParameter("id")
            switch try await store.deleteFailed(id: id) {
            case .done: return JSONResponse.make(["deleted": .string(id)])
            case .notApplicable(let record):
                throw APIError(.conflict, "request '\(id)' is \(record.state.rawValue), not failed; only dead letters can be deleted")
            case .notFound: throw unknown(id)
            }
        }
    }

    func unknown(_ id: String) -> APIError {
        APIError.notFound("request '\(id)' is unknown or has expired (failed requests are kept \(JSONValue.format(environment.configuration.failedTTL)) s, others \(JSONValue.format(environment.configuration.requestTTL)) s)")
    }

    /// Ids listed, or the newest dead letters matching a filter; at most
    /// ``AdminLimits/maximumRetryBatch`` either way.
    func retryMany(_ request: Request) async throws -> Response {
        let body = try await RequestBody.json(request, limit: environment.configuration.maxBodyBytes)
        guard let object = body.objectValue else {
            throw APIError(validation: ValidationError(ValidationIssue([.key("body")], "Input should be an object with ids or a filter", type: "model_type")))
        }
        var ids: [String] = []
        if let listed = object["ids"] {
            let items = listed.arrayValue ?? []
            let strings = items.compactMap(\.stringValue)
            guard listed.arrayValue != nil, items.count <= AdminLimits.maximumRetryBatch, strings.count == items.count else {
                throw APIError(validation: ValidationError(ValidationIssue([.key("body"), .key("ids")], "Input should be a list of at most \(AdminLimits.maximumRetryBatch) request ids", type: "list_type")))
            }
            ids = strings
        } else {
            let limit = object["limit"]?.intValue ?? AdminLimits.maximumRetryBatch
            guard (1...AdminLimits.maximumRetryBatch).contains(limit) else {
                throw APIError(validation: ValidationError(ValidationIssue([.key("body"), .key("limit")], "Input should be from 1 to \(AdminLimits.maximumRetryBatch)", type: "less_than_equal")))
            }
            var query = AdminQuery(
                index: .failed, appName: object["app_name"]?.stringValue, destination: object["destination"]?.stringValue,
                sender: object["sender"]?.stringValue, limit: limit)
            // A filtered page may come back short; a few more pages find matches further down,
            // with the work still bounded.
            for _ in 0..<Self.filterPages {
                let page = try await store.adminRequests(query)
                ids += page.items.prefix(limit - ids.count).map(\.record.id)
                guard ids.count < limit, let next = page.nextCursor else { break }
                query.cursor = next
            }
        }
        var retried: [JSONValue] = []
        var skipped: [JSONValue] = []
        for id in ids {
            switch try await store.retry(id: id) {
            case .done: retried.append(.string(id))
            case .notApplicable(let record): skipped.append(["id": .string(id), "detail": .string("is \(record.state.rawValue), not failed")])
            case .notFound: skipped.append(["id": .string(id), "detail": "unknown or expired"])
            }
        }
        return JSONResponse.make(["retried": .array(retried), "skipped": .array(skipped)])
    }

    /// Pages a filtered retry looks through at most.
    static let filterPages = 10

    static func query(_ request: Request, index: AdminIndex) throws -> AdminQuery {
        let parameters = request.uri.queryParameters
        var issues: [ValidationIssue] = []
        func text(_ name: String) -> String? {
            guard let value = parameters.get(name), !value.isEmpty else { return nil }
            return String(value)
        }
        var state: RPCState?
        if let raw = text("state") {
            state = RPCState(rawValue: raw)
            if state == nil {
                issues.append(ValidationIssue([.key("query"), .key("state")], "Input should be one of \(RPCState.allCases.map(\.rawValue).joined(separator: ", "))", type: "enum"))
            }
        }
        let limit = DeliveryRoutes.number(
            text("limit"), field: "limit", default: Double(AdminLimits.defaultPageSize), range: 1...Double(AdminLimits.maximumPageSize),
            integer: true, issues: &issues)
        var cursor: AdminCursor?
        if let token = text("cursor") {
            cursor = AdminCursor(token: token)
            if cursor == nil {
                issues.append(ValidationIssue([.key("query"), .key("cursor")], "Value error, not a cursor this API returned (next_cursor of the previous page)", type: "value_error"))
            }
        }
        if !issues.isEmpty { throw APIError(validation: ValidationError(issues)) }
        return AdminQuery(
            index: index, state: state, appName: text("app_name"), destination: text("destination"), sender: text("sender"),
            limit: Int(limit), cursor: cursor)
    }
}
