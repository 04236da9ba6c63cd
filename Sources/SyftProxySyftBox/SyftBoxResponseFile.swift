import SyftProxyCore

/// The `<id>.response` file a syft-event app writes: the request's envelope plus
/// `status_code`, with the handler's return value base64-encoded in `body`.
public struct SyftBoxResponseFile: Sendable, Equatable {
    public var statusCode: Int
    /// The decoded body; nil when the app wrote `null`.
    public var body: [UInt8]?

    public init(statusCode: Int, body: [UInt8]?) {
        self.statusCode = statusCode
        self.body = body
    }

    /// Fails on anything but a complete response: the app writes answers in place, so an
    /// empty or cut-off file usually means "not finished yet", and the caller reads again.
    public init(decoding bytes: [UInt8]) throws(SyftBoxError) {
        guard !bytes.isEmpty else { throw .badAnswer("the answer file is empty") }
        let document: JSONValue
        do { document = try JSONParser.parse(bytes) } catch {
            throw .badAnswer("the answer file is not JSON (\(error))")
        }
        guard case .object(let object) = document else { throw .badAnswer("the answer file is JSON but not an object") }
        guard let status = object["status_code"]?.intValue, (100...599).contains(status) else {
            throw .badAnswer("the answer file has no status_code between 100 and 599")
        }
        switch object["body"] {
        case nil, .null?:
            body = nil
        case .string(let encoded)?:
            guard let decoded = Base64.decode(encoded) else { throw .badAnswer("the answer file's body is not base64") }
            body = decoded
        case .some:
            throw .badAnswer("the answer file's body is neither a base64 string nor null")
        }
        statusCode = status
    }

    /// 2xx completes the request with the body as JSON, else as text; any other status fails
    /// it with the app's own words.
    public var answer: RPCAnswer {
        let bytes = body ?? []
        if (200..<300).contains(statusCode) {
            if body == nil || bytes.isEmpty { return .result(.null) }
            if let json = try? JSONParser.parse(bytes) { return .result(json) }
            if let text = String(validating: bytes, as: UTF8.self) { return .result(.string(text)) }
            // Binary answers stay lossless rather than being mangled into text.
            return .result(.object(["base64": .string(Base64.encodeStandard(bytes))]))
        }
        return .error(failureMessage(bytes))
    }

    private func failureMessage(_ bytes: [UInt8]) -> String {
        var reason = String(decoding: bytes.prefix(2000), as: UTF8.self)
        if let json = try? JSONParser.parse(bytes) {
            if let text = json.stringValue ?? json["detail"]?.stringValue ?? json["error"]?.stringValue ?? json["message"]?.stringValue {
                reason = text
            }
        }
        let prefix = statusCode == 419
            ? "the SyftBox app refused the request as expired (status 419)"
            : "the SyftBox app answered status \(statusCode)"
        return reason.isEmpty ? prefix : "\(prefix): \(reason)"
    }
}
