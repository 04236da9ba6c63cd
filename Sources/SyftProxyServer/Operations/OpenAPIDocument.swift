import SyftProxyCore

/// The OpenAPI 3.1 description served at /openapi.json. The document is data
/// (Resources/openapi.json, compiled in as ``OpenAPITemplate``); every limit in it is a
/// `${name}` placeholder filled here from the configuration and the constants the validators
/// use, so a limit is written once and the document states what this replica enforces.
/// A string that is one placeholder takes the value's JSON type (a number, an array); a
/// placeholder inside text takes its written form.
enum OpenAPIDocument {
    struct RenderError: Error, CustomStringConvertible {
        var description: String
    }

    static func values(for configuration: ProxyConfiguration) -> [String: JSONValue] {
        [
            "version": .string(SyftProxyVersion.current),
            "maximumTimeout": .double(configuration.maxTimeout),
            "defaultTimeout": .double(configuration.timeout),
            "maximumParamsBytes": .int(configuration.maxParamsBytes),
            "maximumBodyBytes": .int(configuration.maxBodyBytes),
            "maximumNameLength": .int(Validation.maximumNameLength),
            "maximumIdentityLength": .int(Validation.maximumIdentityLength),
            "maximumHeaderCount": .int(Validation.maximumHeaderCount),
            "maximumHeaderBytes": .int(Validation.maximumHeaderBytes),
            "maximumDestinations": .int(Validation.maximumDestinations),
            "maximumInboxBatch": .int(DeliveryRoutes.maximumBatch),
            "defaultInboxBatch": .int(DeliveryRoutes.defaultBatch),
            "maximumJSONDepth": .int(JSONParser.maximumDepth),
            "pullConsumerWindow": .double(pullConsumerWindow),
            "maximumWebSocketConcurrency": .int(WebSocketLimits.maximumConcurrency),
            "defaultWebSocketConcurrency": .int(WebSocketLimits.defaultConcurrency),
            "webSocketPingSeconds": .int(WebSocketLimits.pingSeconds),
            "maximumAdminPage": .int(AdminLimits.maximumPageSize),
            "defaultAdminPage": .int(AdminLimits.defaultPageSize),
            "timelineEvents": .int(AdminLimits.timelineEvents),
            "maximumRetryBatch": .int(AdminLimits.maximumRetryBatch),
            "maximumQueuesListed": .int(AdminLimits.maximumQueuesListed),
            "maximumPurge": .int(AdminLimits.maximumPurge),
            "heartbeatInterval": .double(AdminLimits.heartbeatInterval),
            "heartbeatTTL": .double(AdminLimits.heartbeatTTL),
            "failedTTL": .double(configuration.failedTTL),
            "cancelledMessage": .string(FailureMessages.cancelled),
            "purgedMessage": .string(FailureMessages.purged),
            // SyftBox registration is only valid on a replica with a SyftBox folder.
            "transports": configuration.syftBox == nil ? ["push"] : ["push", "syftbox"],
        ]
    }

    /// Rendered once per router, at start; the template's shape is checked by the tests, so a
    /// failure here means a build from an edited document that was not tested.
    static func json(for configuration: ProxyConfiguration) throws(RenderError) -> String {
        try render(OpenAPITemplate.text, values: values(for: configuration)).compactString
    }

    static func render(_ template: String, values: [String: JSONValue]) throws(RenderError) -> JSONValue {
        let document: JSONValue
        do {
            document = try JSONParser.parse(template)
        } catch {
            throw RenderError(description: "the OpenAPI template is not JSON (\(error)); fix Sources/SyftProxyServer/Resources/openapi.json")
        }
        return try fill(document, values)
    }

    private static func fill(_ value: JSONValue, _ values: [String: JSONValue]) throws(RenderError) -> JSONValue {
        switch value {
        case .string(let text):
            guard text.contains("${") else { return value }
            if text.hasPrefix("${"), text.hasSuffix("}"), let whole = values[String(text.dropFirst(2).dropLast())] {
                return whole
            }
            return .string(try substitute(text, values))
        case .array(let items):
            var filled: [JSONValue] = []
            filled.reserveCapacity(items.count)
            for item in items { filled.append(try fill(item, values)) }
            return .array(filled)
        case .object(var object):
            for index in object.members.indices {
                object.members[index].value = try fill(object.members[index].value, values)
            }
            return .object(object)
        case .null, .bool, .number:
            return value
        }
    }

    private static func substitute(_ text: String, _ values: [String: JSONValue]) throws(RenderError) -> String {
        var result = ""
        var rest = Substring(text)
        while let open = rest.range(of: "${") {
            result += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstIndex(of: "}") else {
                throw RenderError(description: "unclosed placeholder in \"\(text)\"")
            }
            let name = String(rest[open.upperBound..<close])
            guard let value = values[name] else {
                throw RenderError(description: "unknown placeholder ${\(name)} in \"\(text)\"; known: \(values.keys.sorted().joined(separator: ", "))")
            }
            switch value {
            case .string(let string), .number(let string): result += string
            default: result += value.compactString
            }
            rest = rest[rest.index(after: close)...]
        }
        return result + rest
    }
}
