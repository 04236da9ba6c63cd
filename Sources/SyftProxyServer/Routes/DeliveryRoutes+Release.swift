import Hummingbird
import SyftProxyCore

extension DeliveryRoutes {
    /// POST /rpc/release/{id} with `{"lease": "<the inbox item's lease>"}`: a pull consumer
    /// that will not answer a request it leased (it is shutting down) hands it back at once,
    /// without counting the attempt, instead of leaving it to its lease's expiry. Only the
    /// current lease can be handed back, so a consumer whose lease already passed to another
    /// one changes nothing (409).
    func release(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let id = try context.pathParameter("id")
        let body = try await RequestBody.json(request, limit: environment.configuration.maxBodyBytes)
        let object: JSONObject
        do { object = try Validation.objectBody(body) } catch { throw error.apiError }
        guard case .string(let lease)? = object["lease"], !lease.isEmpty else {
            throw APIError(validation: ValidationError(ValidationIssue(body: .key("lease"), message: "Field required: the lease of the inbox item to hand back", type: "missing")))
        }
        guard let record = try await environment.store.record(id: id) else {
            throw APIError.notFound("request '\(id)' is unknown or has expired; nothing to hand back")
        }
        try Ownership.requireDestination(record.destination, context: context, action: "hand back requests")
        guard try await environment.store.releaseLease(id: id, token: lease) else {
            let now = try await environment.store.record(id: id) ?? record
            throw APIError(.conflict, "request '\(id)' is \(now.state.rawValue) and not under this lease (answered, timed out, or delivered again since); nothing changed")
        }
        let released = try await environment.store.record(id: id) ?? record
        return JSONResponse.make(released.statusJSON)
    }
}
