import Hummingbird
import SyftProxyCore

/// What an app publishes about itself: its schema and, for push delivery, its URL.
struct AppRoutes: Sendable {
    let environment: ProxyEnvironment

    func register(on router: Router<ProxyRequestContext>) {
        router.get("/rpc/schema/:app_name") { _, context in
            let appName = try context.pathParameter("app_name")
            guard let schema = try await environment.store.schema(appName: appName) else {
                throw APIError.notFound("app '\(appName)' has published no schema; the app publishes one with PUT /rpc/schema/\(appName)")
            }
            return JSONResponse.make(schema)
        }
        router.put("/rpc/schema/:app_name") { request, context in try await publishSchema(request, context: context) }
        router.put("/rpc/apps/:app_name/endpoint") { request, context in try await registerEndpoint(request, context: context) }
        router.delete("/rpc/apps/:app_name/endpoint") { request, context in try await removeEndpoint(request, context: context) }
    }

    func publishSchema(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let appName = try context.pathParameter("app_name")
        let body = try await RequestBody.json(request, limit: environment.configuration.maxBodyBytes)
        var schema: JSONObject
        do { schema = try Validation.objectBody(body) } catch { throw error.apiError }
        var issues: [ValidationIssue] = []
        if let named = schema["app_name"], named != .string(appName) {
            issues.append(ValidationIssue(body: .key("app_name"), message: "Value error, app_name in the body must match the path ('\(appName)')", type: "value_error"))
        }
        switch schema["functions"] {
        case .object?: break
        case nil: issues.append(ValidationIssue(body: .key("functions"), message: "Field required: an object of function name to {params, returns, description}", type: "missing"))
        case .some: issues.append(ValidationIssue(body: .key("functions"), message: "Input should be a valid dictionary", type: "dict_type"))
        }
        if !issues.isEmpty { throw APIError(validation: ValidationError(issues)) }
        if schema["app_name"] == nil { schema.members.insert(.init(key: "app_name", value: .string(appName)), at: 0) }
        switch try await environment.store.publishSchema(appName: appName, schema: .object(schema), owner: context.identity) {
        case .stored:
            return JSONResponse.make(["app_name": .string(appName), "status": "published"])
        case .ownedByAnother(let owner):
            throw APIError(.forbidden, "the schema of app '\(appName)' belongs to \(owner); only that identity may replace it")
        }
    }

    func registerEndpoint(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let appName = try context.pathParameter("app_name")
        let body = try await RequestBody.json(request, limit: environment.configuration.maxBodyBytes)
        let object: JSONObject
        do { object = try Validation.objectBody(body) } catch { throw error.apiError }
        var reader = Validation.FieldReader(object: object)
        // The body's destination wins; `?destination=` serves clients that cannot send one.
        let identity: String
        if object["destination"] == nil, let fromQuery = request.uri.queryParameters.get("destination").map({ String($0) }) {
            identity = fromQuery
            if !Validation.isIdentity(fromQuery) {
                reader.issues.append(ValidationIssue([.key("query"), .key("destination")], "Value error, destination must be an identity with exactly one '@'", type: "value_error"))
            }
        } else {
            identity = reader.identity("destination")
        }
        var url = ""
        switch object["url"] {
        case .string(let text)?:
            url = text
            if !Self.isHTTPURL(text) {
                reader.issues.append(ValidationIssue(body: .key("url"), message: "Value error, url must be an absolute http:// or https:// URL, such as http://127.0.0.1:9000/rpc", type: "url_parsing"))
            }
        case nil: reader.issues.append(ValidationIssue(body: .key("url"), message: "Field required", type: "missing"))
        case .some: reader.issues.append(ValidationIssue(body: .key("url"), message: "Input should be a valid string", type: "string_type"))
        }
        do { try reader.finish() } catch { throw error.apiError }
        try Ownership.requireDestination(identity, context: context, action: "register a push endpoint")
        try await environment.store.registerPushEndpoint(appName: appName, destination: identity, url: url)
        return JSONResponse.make(["app_name": .string(appName), "destination": .string(identity), "url": .string(url), "transport": "push"])
    }

    func removeEndpoint(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let appName = try context.pathParameter("app_name")
        guard let destination = request.uri.queryParameters.get("destination").map({ String($0) }) else {
            throw APIError(validation: ValidationError(ValidationIssue([.key("query"), .key("destination")], "Field required: the identity whose endpoint to remove", type: "missing")))
        }
        guard Validation.isIdentity(destination) else {
            throw APIError(validation: ValidationError(ValidationIssue([.key("query"), .key("destination")], "Value error, destination must be an identity with exactly one '@'", type: "value_error")))
        }
        try Ownership.requireDestination(destination, context: context, action: "remove a push endpoint")
        guard try await environment.store.removePushEndpoint(appName: appName, destination: destination) else {
            throw APIError.notFound("no push endpoint is registered for app '\(appName)' and \(destination)")
        }
        return JSONResponse.make(["app_name": .string(appName), "destination": .string(destination), "transport": "pull"])
    }

    static func isHTTPURL(_ text: String) -> Bool {
        for scheme in ["http://", "https://"] where text.lowercased().hasPrefix(scheme) {
            let rest = text.dropFirst(scheme.count)
            let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
            return !authority.isEmpty && !text.contains(where: { $0.isWhitespace })
        }
        return false
    }
}
