/// A validated POST /rpc/send body.
public struct RPCSendRequest: Sendable, Equatable {
    public var appName: String
    public var funcName: String
    public var destination: String
    public var params: JSONObject
    /// `params` as compact JSON, encoded once by the size check.
    public var encodedParams: [UInt8]
    public var blocking: Bool
    public var timeout: Double
    public var headers: [String: String]

    public init(appName: String, funcName: String, destination: String, params: JSONObject = [:],
                blocking: Bool = false, timeout: Double, headers: [String: String] = [:]) {
        self.appName = appName
        self.funcName = funcName
        self.destination = destination
        self.params = params
        self.encodedParams = JSONValue.object(params).compactBytes
        self.blocking = blocking
        self.timeout = timeout
        self.headers = headers
    }

    public init(json: JSONValue, limits: RequestLimits) throws(ValidationError) {
        var reader = Validation.FieldReader(object: try Validation.objectBody(json))
        appName = reader.name("app_name")
        funcName = reader.name("func_name")
        destination = reader.identity("destination")
        (params, encodedParams) = reader.encodedParams("params", limits: limits)
        blocking = reader.bool("blocking", default: false)
        timeout = reader.timeout("timeout", limits: limits)
        headers = reader.headers("headers")
        try reader.finish()
    }
}

/// A validated POST /rpc/broadcast body: one request per destination URL.
public struct RPCBroadcastRequest: Sendable, Equatable {
    public var funcName: String
    public var params: JSONObject
    /// `params` as compact JSON, encoded once by the size check.
    public var encodedParams: [UInt8]
    public var headers: [String: String]
    public var timeout: Double
    public var destinations: [SyftBoxURL]

    public init(json: JSONValue, limits: RequestLimits, maximumDestinations: Int = Validation.maximumDestinations) throws(ValidationError) {
        var reader = Validation.FieldReader(object: try Validation.objectBody(json))
        funcName = reader.name("func_name")
        (params, encodedParams) = reader.encodedParams("params", limits: limits)
        headers = reader.headers("headers")
        timeout = reader.timeout("timeout", limits: limits)
        destinations = []
        switch reader.object["destinations"] {
        case nil:
            reader.issues.append(ValidationIssue(body: .key("destinations"), message: "Field required", type: "missing"))
        case .array(let items)?:
            if items.isEmpty {
                reader.issues.append(ValidationIssue(body: .key("destinations"), message: "List should have at least 1 item", type: "too_short"))
            } else if items.count > maximumDestinations {
                reader.issues.append(ValidationIssue(body: .key("destinations"), message: "List should have at most \(maximumDestinations) items", type: "too_long"))
            }
            for (index, item) in items.enumerated() {
                guard case .string(let text) = item else {
                    reader.issues.append(ValidationIssue(body: .key("destinations"), .index(index), message: "Input should be a valid string", type: "string_type"))
                    continue
                }
                do {
                    destinations.append(try SyftBoxURL(parsing: text))
                } catch {
                    reader.issues.append(ValidationIssue(body: .key("destinations"), .index(index), message: "Value error, invalid SyftBox URL '\(text)': \(error)", type: "value_error"))
                }
            }
        case .some:
            reader.issues.append(ValidationIssue(body: .key("destinations"), message: "Input should be a valid list", type: "list_type"))
        }
        try reader.finish()
    }
}

/// A validated POST /rpc/reply/{id} body: exactly one of result or error.
public enum RPCAnswer: Sendable, Equatable {
    case result(JSONValue)
    case error(String)
    /// The proxy could not hand the request to the app (push URL denied, no SyftBox folder):
    /// it fails with this message, classed as ``FailureClass/undeliverable``.
    case undeliverable(String)

    public init(json: JSONValue) throws(ValidationError) {
        let object = try Validation.objectBody(json)
        let result = object["result"]
        let error = object["error"]
        switch (result, error) {
        case (let result?, nil), (let result?, .null?):
            self = .result(result)
        case (nil, .string(let message)?), (.null?, .string(let message)?):
            self = .error(message)
        case (_, .some(let value)) where value.stringValue == nil && !value.isNull:
            throw ValidationError(ValidationIssue(body: .key("error"), message: "Input should be a valid string", type: "string_type"))
        case (nil, _):
            throw ValidationError(ValidationIssue(body: .key("result"), message: "Field required: send {\"result\": ...} or {\"error\": \"...\"}", type: "missing"))
        default:
            throw ValidationError(ValidationIssue(body: .key("error"), message: "Value error, send either result or error, not both", type: "value_error"))
        }
    }
}
