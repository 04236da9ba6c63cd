import SyftProxyCore

/// Reads the `rpc/rpc.schema.json` a syft-event app publishes and renders it as the proxy's
/// AppSchema, so GET /rpc/schema/{app} describes SyftBox apps that never called the API.
///
/// syft-event writes `{"/ping": {"description", "args": {name: {"type", "required"}}, "returns"}}`;
/// the AppSchema is `{"app_name", "functions": {"ping": {"params": {name: type}, "returns",
/// "description"}}}`, plus `required`, `source`, `datasite` and `url`.
public enum SyftBoxSchema {
    /// Blocking file reads, through folders opened without following links: call it off the
    /// concurrency pool (the transport runs it on its thread pool).
    static func read(datasites: String, appName: String, destination: String?) -> JSONValue? {
        guard SyftBoxEndpoint.isFolderName(appName), let root = try? FilePath.openRoot(datasites) else { return nil }
        let candidates = destination.map { [$0] } ?? root.names().sorted()
        for candidate in candidates where SyftBoxIdentity.isValid(candidate) {
            let components = SyftBoxEndpoint.appRPCComponents(destination: candidate, appName: appName)
            guard let rpc = try? root.descend(components, create: false),
                case .contents(let bytes)? = try? rpc.read("rpc.schema.json", limit: 4 << 20),
                case .object(let published)? = try? JSONParser.parse(bytes)
            else { continue }
            return convert(published, appName: appName, destination: candidate)
        }
        return nil
    }

    static func convert(_ published: JSONObject, appName: String, destination: String) -> JSONValue {
        var functions = JSONObject()
        for member in published.members {
            guard case .object(let details) = member.value else { continue }
            let name = member.key.hasPrefix("/") ? String(member.key.dropFirst()) : member.key
            var params = JSONObject()
            var required: [JSONValue] = []
            for argument in details["args"]?.objectValue?.members ?? [] {
                params[argument.key] = argument.value["type"] ?? .null
                if argument.value["required"]?.boolValue == true { required.append(.string(argument.key)) }
            }
            functions[name] = .object([
                "params": .object(params),
                "required": .array(required),
                "returns": details["returns"] ?? .null,
                "description": .string(details["description"]?.stringValue ?? ""),
            ])
        }
        return .object([
            "app_name": .string(appName),
            "functions": .object(functions),
            "source": "syftbox",
            "datasite": .string(destination),
            "url": .string(SyftBoxEndpoint.appURL(destination: destination, appName: appName)),
        ])
    }
}
