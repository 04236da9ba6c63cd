import Hummingbird
import SyftProxyCore
import SyftProxySyftBox

/// What an app publishes about itself: its schema and how it is reached (push URL or SyftBox).
struct AppRoutes: Sendable {
    let environment: ProxyEnvironment

    func register(on rpc: RouterGroup<ProxyRequestContext>) {
        rpc.get("schema/:app_name") { request, context in
            let appName = try context.pathParameter("app_name")
            if let schema = try await environment.store.schema(appName: appName) { return JSONResponse.make(schema) }
            // A syft-event app publishes its schema as a file, not over HTTP.
            let destination = request.uri.queryParameters.get("destination").map { String($0) }
            if let schema = await environment.syftBox?.schema(appName: appName, destination: destination) { return JSONResponse.make(schema) }
            throw APIError.notFound("app '\(appName)' has published no schema; the app publishes one with PUT /rpc/schema/\(appName)")
        }
        rpc.put("schema/:app_name") { request, context in try await publishSchema(request, context: context) }
        rpc.put("apps/:app_name/endpoint") { request, context in try await registerEndpoint(request, context: context) }
        rpc.get("apps/:app_name/endpoint") { request, context in try await showEndpoint(request, context: context) }
        rpc.delete("apps/:app_name/endpoint") { request, context in try await removeEndpoint(request, context: context) }
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
        let transport = Self.transport(of: object, reader: &reader)
        var url = ""
        switch (transport, object["url"]) {
        case (.syftBox, nil):
            url = SyftBoxEndpoint.appURL(destination: identity, appName: appName)
            if environment.syftBox == nil {
                reader.issues.append(ValidationIssue(body: .key("transport"), message: "Value error, this proxy has no SyftBox folder configured (PROXY_SYFTBOX_DATA_DIR and PROXY_SYFTBOX_EMAIL)", type: "value_error"))
            }
            if Validation.isIdentity(identity), !SyftBoxIdentity.isValid(identity) {
                reader.issues.append(ValidationIssue(body: .key("destination"), message: "Value error, SyftBox needs an identity of the form name@domain.tld (the domain needs a dot)", type: "value_error"))
            }
            if !SyftBoxEndpoint.isFolderName(appName) {
                reader.issues.append(ValidationIssue([.key("path"), .key("app_name")], "Value error, app_name must be a plain folder name for SyftBox: no '/', wildcards or control characters", type: "value_error"))
            }
        case (.syftBox, .some):
            reader.issues.append(ValidationIssue(body: .key("url"), message: "Extra inputs are not permitted: transport syftbox delivers through the datasites folder, not a URL", type: "extra_forbidden"))
        case (.push, .string(let text)?):
            url = text
            if !Self.isHTTPURL(text) {
                reader.issues.append(ValidationIssue(body: .key("url"), message: "Value error, url must be an absolute http:// or https:// URL, such as http://127.0.0.1:9000/rpc", type: "url_parsing"))
            } else if let refusal = PushAddressPolicy(configuration: environment.configuration).refusal(ofURL: text) {
                // Names are checked again when a delivery resolves them; literals fail here, early.
                reader.issues.append(ValidationIssue(body: .key("url"), message: "Value error, \(refusal)", type: "value_error"))
            }
        case (.push, nil): reader.issues.append(ValidationIssue(body: .key("url"), message: "Field required", type: "missing"))
        case (.push, .some): reader.issues.append(ValidationIssue(body: .key("url"), message: "Input should be a valid string", type: "string_type"))
        case (nil, _): break
        }
        do { try reader.finish() } catch { throw error.apiError }
        try Ownership.requireDestination(identity, context: context, action: "register an endpoint")
        try await environment.store.registerPushEndpoint(appName: appName, destination: identity, url: url)
        return JSONResponse.make(Self.endpointJSON(appName: appName, destination: identity, url: url))
    }

    func showEndpoint(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let appName = try context.pathParameter("app_name")
        let destination = try Self.destinationQuery(request)
        try Ownership.requireDestination(destination, context: context, action: "read an endpoint")
        let url = try await environment.store.pushEndpoint(appName: appName, destination: destination)
        return JSONResponse.make(Self.endpointJSON(appName: appName, destination: destination, url: url))
    }

    enum Transport: String { case push, syftBox = "syftbox" }

    /// `transport` is optional: a body with a `url` means push, as before it existed.
    static func transport(of object: JSONObject, reader: inout Validation.FieldReader) -> Transport? {
        switch object["transport"] {
        case nil: return .push
        case .string(let text)?:
            if let transport = Transport(rawValue: text) { return transport }
            reader.issues.append(ValidationIssue(body: .key("transport"), message: "Input should be 'push' or 'syftbox'", type: "enum"))
        case .some: reader.issues.append(ValidationIssue(body: .key("transport"), message: "Input should be a valid string", type: "string_type"))
        }
        return nil
    }

    static func endpointJSON(appName: String, destination: String, url: String?) -> JSONValue {
        let transport = switch url {
        case nil: "pull"
        case let url? where SyftBoxEndpoint.isAppURL(url): "syftbox"
        case _?: "push"
        }
        return ["app_name": .string(appName), "destination": .string(destination), "url": url.map(JSONValue.string) ?? .null, "transport": .string(transport)]
    }

    static func destinationQuery(_ request: Request) throws -> String {
        guard let destination = request.uri.queryParameters.get("destination").map({ String($0) }) else {
            throw APIError(validation: ValidationError(ValidationIssue([.key("query"), .key("destination")], "Field required: the identity whose endpoint to use", type: "missing")))
        }
        guard Validation.isIdentity(destination) else {
            throw APIError(validation: ValidationError(ValidationIssue([.key("query"), .key("destination")], "Value error, destination must be an identity with exactly one '@'", type: "value_error")))
        }
        return destination
    }

    func removeEndpoint(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let appName = try context.pathParameter("app_name")
        let destination = try Self.destinationQuery(request)
        try Ownership.requireDestination(destination, context: context, action: "remove an endpoint")
        guard try await environment.store.removePushEndpoint(appName: appName, destination: destination) else {
            throw APIError.notFound("no endpoint is registered for app '\(appName)' and \(destination)")
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
