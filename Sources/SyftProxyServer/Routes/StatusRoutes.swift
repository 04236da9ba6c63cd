import Hummingbird
import SyftProxyCore

/// GET /rpc/status/{id}.
struct StatusRoutes: Sendable {
    let environment: ProxyEnvironment

    func register(on rpc: RouterGroup<ProxyRequestContext>) {
        rpc.get("status/:id") { request, context in
            let id = try context.pathParameter("id")
            guard let record = try await environment.store.record(id: id) else {
                throw APIError.notFound("request '\(id)' is unknown or has expired (requests are kept \(JSONValue.format(environment.configuration.requestTTL)) s)")
            }
            try Ownership.requireParty(record, context: context)
            return JSONResponse.make(record.statusJSON)
        }
    }
}
