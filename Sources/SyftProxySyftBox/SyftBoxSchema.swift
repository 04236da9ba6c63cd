import SyftProxyCore

/// Reads the `rpc/rpc.schema.json` a syft-event app publishes and renders it as the proxy's
/// AppSchema, so GET /rpc/schema/{app} describes SyftBox apps that never called the API.
///
/// syft-event writes `{"/ping": {"description", "args": {name: {"type", "required"}}, "returns"}}`;
/// the AppSchema is `{"app_name", "functions": {"ping": {"params": {name: type}, "returns",
/// "description"}}}`, plus `required`, `source`, `datasite` and `url`.
public enum SyftBoxSchema {
    public static func read(datasites: String, appName: String, destination: String?) -> JSONValue? {
        let candidates = destination.map { [$0] } ?? FilePath.list(datasites).sorted()
        for candidate in candidates where SyftBoxIdentity.isValid(candidate) && SyftBoxEndpoint.isFolderName(appName) {
            let rpcDirectory = SyftBoxEndpoint.appRPCDirectory(datasites: datasites, destination: candidate, appName: appName)
            guard case .contents(let bytes)? = try? FilePath.contents(of: FilePath.join(rpcDirectory, "rpc.schema.json"), limit: 4 << 20),
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
