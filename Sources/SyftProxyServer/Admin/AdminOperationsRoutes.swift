import Hummingbird
import SyftProxyCore

/// GET /admin/queues, POST /admin/queues/purge, GET /admin/replicas, GET /admin/endpoints.
struct AdminOperationsRoutes: Sendable {
    let environment: ProxyEnvironment
    var store: any RPCStore { environment.store }

    func register(on admin: RouterGroup<ProxyRequestContext>) {
        admin.get("queues") { _, _ in
            let queues = try await store.queues()
            let now = Timestamp.now()
            return JSONResponse.make(["queues": .array(queues.map { AdminJSON.queue($0, now: now) })])
        }
        admin.post("queues/purge") { request, _ in
            let body = try await RequestBody.json(request, limit: environment.configuration.maxBodyBytes)
            var issues: [ValidationIssue] = []
            let appName = body["app_name"]?.stringValue ?? ""
            let destination = body["destination"]?.stringValue ?? ""
            if appName.isEmpty { issues.append(ValidationIssue([.key("body"), .key("app_name")], "Field required: the app whose queue to purge", type: "missing")) }
            if !Validation.isIdentity(destination) {
                issues.append(ValidationIssue([.key("body"), .key("destination")], "Field required: the destination identity of the queue, such as bob@example.com", type: "missing"))
            }
            if !issues.isEmpty { throw APIError(validation: ValidationError(issues)) }
            let (purged, remaining) = try await store.purgeQueue(appName: appName, destination: destination, message: FailureMessages.purged)
            return JSONResponse.make(["purged": .int(purged), "remaining": .int(remaining)])
        }
        admin.get("endpoints") { _, _ in
            let endpoints = try await store.endpoints()
            return JSONResponse.make(["endpoints": .array(endpoints.map(AdminJSON.endpoint))])
        }
        admin.get("replicas") { _, _ in
            let now = Timestamp.now()
            let replicas = try await store.replicas()
            return JSONResponse.make([
                "replicas": .array(replicas.map { AdminJSON.replica($0, now: now) }),
                "answered_by": .string(environment.replicaID),
            ])
        }
    }
}
