import Hummingbird
import SyftProxyCore

/// What GET /rpc/connect/{app_name} asks for, validated like the inbox's parameters so a bad
/// value is a 422 before any upgrade.
struct ConnectParameters: Sendable {
    let appName: String
    let destination: String
    let concurrency: Int

    static func parse(_ request: Request, context: ProxyRequestContext) throws -> ConnectParameters {
        let appName = try context.pathParameter("app_name")
        let query = request.uri.queryParameters
        var issues: [ValidationIssue] = []
        let destination = query.get("destination").map { String($0) } ?? ""
        if destination.isEmpty {
            issues.append(ValidationIssue([.key("query"), .key("destination")], "Field required: the identity whose requests to serve, such as bob@example.com", type: "missing"))
        } else if !Validation.isIdentity(destination) {
            issues.append(ValidationIssue([.key("query"), .key("destination")], "Value error, destination must be an identity with exactly one '@'", type: "value_error"))
        }
        let concurrency = DeliveryRoutes.number(
            query.get("concurrency"), field: "concurrency", default: Double(WebSocketLimits.defaultConcurrency),
            range: 1...Double(WebSocketLimits.maximumConcurrency), integer: true, issues: &issues)
        if appName.isEmpty || appName.unicodeScalars.count > Validation.maximumNameLength {
            issues.append(ValidationIssue([.key("path"), .key("app_name")], "String should have 1 to \(Validation.maximumNameLength) characters", type: "string_too_long"))
        }
        if !issues.isEmpty { throw APIError(validation: ValidationError(issues)) }
        try Ownership.requireDestination(destination, context: context, action: "serve requests over a WebSocket")
        return ConnectParameters(appName: appName, destination: destination, concurrency: Int(concurrency))
    }
}
