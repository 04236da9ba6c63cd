/// The limits SPEC.md puts on request bodies, set from configuration.
public struct RequestLimits: Sendable, Equatable {
    public var defaultTimeout: Double
    public var maximumTimeout: Double
    public var maximumParamsBytes: Int

    public init(defaultTimeout: Double = 60, maximumTimeout: Double = 300, maximumParamsBytes: Int = 1_000_000) {
        self.defaultTimeout = defaultTimeout
        self.maximumTimeout = maximumTimeout
        self.maximumParamsBytes = maximumParamsBytes
    }
}

/// Field rules shared by every body that carries them. Each reader collects issues instead of
/// stopping at the first, so a client learns everything wrong with a body in one answer.
public enum Validation {
    public static let maximumNameLength = 128
    /// Identities are mailbox-like; 254 is the longest address SMTP can carry.
    public static let maximumIdentityLength = 254
    /// Destinations of one broadcast: each becomes a stored request.
    public static let maximumDestinations = 1000
    /// Headers are stored with every request a broadcast creates, unlike params which are
    /// shared; these caps bound that copy.
    public static let maximumHeaderCount = 64
    /// Names and values as UTF-8, summed.
    public static let maximumHeaderBytes = 16_384

    /// An identity is email-like: exactly one '@' with something on both sides, no whitespace
    /// or slash (it becomes a path segment in SyftBox). Checked scalar by scalar, and lengths
    /// counted in scalars, as JSON Schema counts them: a "/" followed by a combining mark is
    /// still a slash.
    public static func isIdentity(_ text: String) -> Bool {
        var ats = 0
        for scalar in text.unicodeScalars {
            if scalar == "@" { ats += 1 }
            if scalar.properties.isWhitespace || scalar == "/" || scalar.value < 0x20 { return false }
        }
        guard ats == 1, text.unicodeScalars.count <= maximumIdentityLength else { return false }
        return text.unicodeScalars.first != "@" && text.unicodeScalars.last != "@"
    }

    /// Reads the members of a JSON object body, recording what is wrong as it goes.
    public struct FieldReader {
        public let object: JSONObject
        public var issues: [ValidationIssue] = []
        let prefix: [ValidationIssue.Location]

        public init(object: JSONObject, prefix: [ValidationIssue.Location] = [.key("body")]) {
            self.object = object
            self.prefix = prefix
        }

        mutating func fail(_ field: String, _ message: String, type: String) {
            issues.append(ValidationIssue(prefix + [.key(field)], message, type: type))
        }

        public mutating func name(_ field: String) -> String {
            guard let value = object[field] else {
                fail(field, "Field required", type: "missing")
                return ""
            }
            guard case .string(let text) = value else {
                fail(field, "Input should be a valid string", type: "string_type")
                return ""
            }
            if text.isEmpty {
                fail(field, "String should have at least 1 character", type: "string_too_short")
            } else if text.unicodeScalars.count > Validation.maximumNameLength {
                fail(field, "String should have at most \(Validation.maximumNameLength) characters", type: "string_too_long")
            } else if text.unicodeScalars.contains(where: { $0 == "/" || $0.value < 0x20 }) {
                fail(field, "Value error, must not contain '/' or control characters", type: "value_error")
            }
            return text
        }

        public mutating func identity(_ field: String) -> String {
            guard let value = object[field] else {
                fail(field, "Field required", type: "missing")
                return ""
            }
            guard case .string(let text) = value else {
                fail(field, "Input should be a valid string", type: "string_type")
                return ""
            }
            if !Validation.isIdentity(text) {
                fail(field, "Value error, destination must be an identity with exactly one '@', such as bob@example.com", type: "value_error")
            }
            return text
        }

        public mutating func params(_ field: String, limits: RequestLimits) -> JSONObject {
            encodedParams(field, limits: limits).object
        }

        /// The params and their compact JSON: the size check needs the encoding, and handing
        /// it on saves the store and an Idempotency-Key's digest from encoding them again.
        public mutating func encodedParams(_ field: String, limits: RequestLimits) -> (object: JSONObject, compact: [UInt8]) {
            guard let value = object[field], !value.isNull else { return (JSONObject(), Self.emptyObject) }
            guard case .object(let params) = value else {
                fail(field, "Input should be a valid dictionary", type: "dict_type")
                return (JSONObject(), Self.emptyObject)
            }
            let compact = value.compactBytes
            if compact.count > limits.maximumParamsBytes {
                fail(field, "Value error, params are \(compact.count) bytes as compact JSON; the limit is \(limits.maximumParamsBytes) bytes (PROXY_MAX_PARAMS_BYTES)", type: "value_error")
            }
            return (params, compact)
        }

        private static let emptyObject = Array("{}".utf8)

        public mutating func headers(_ field: String) -> [String: String] {
            guard let value = object[field], !value.isNull else { return [:] }
            guard case .object(let members) = value else {
                fail(field, "Input should be a valid dictionary", type: "dict_type")
                return [:]
            }
            if members.count > Validation.maximumHeaderCount {
                fail(field, "Dictionary should have at most \(Validation.maximumHeaderCount) items", type: "too_long")
                return [:]
            }
            var headers: [String: String] = [:]
            var bytes = 0
            for member in members.members {
                bytes += member.key.utf8.count + (member.value.stringValue?.utf8.count ?? 0)
                guard case .string(let text) = member.value else {
                    issues.append(ValidationIssue(prefix + [.key(field), .key(member.key)], "Input should be a valid string", type: "string_type"))
                    continue
                }
                headers[member.key] = text
            }
            if bytes > Validation.maximumHeaderBytes {
                fail(field, "Value error, headers are \(bytes) bytes (names and values as UTF-8); the limit is \(Validation.maximumHeaderBytes) bytes", type: "value_error")
            }
            return headers
        }

        public mutating func timeout(_ field: String, limits: RequestLimits) -> Double {
            guard let value = object[field], !value.isNull else { return limits.defaultTimeout }
            guard case .number = value, let seconds = value.doubleValue, seconds.isFinite else {
                fail(field, "Input should be a valid number", type: "float_type")
                return limits.defaultTimeout
            }
            if seconds <= 0 {
                fail(field, "Input should be greater than 0", type: "greater_than")
            } else if seconds > limits.maximumTimeout {
                fail(field, "Input should be less than or equal to \(JSONValue.format(limits.maximumTimeout)) (PROXY_MAX_TIMEOUT)", type: "less_than_equal")
            }
            return seconds
        }

        public mutating func bool(_ field: String, default defaultValue: Bool) -> Bool {
            guard let value = object[field], !value.isNull else { return defaultValue }
            guard case .bool(let flag) = value else {
                fail(field, "Input should be a valid boolean", type: "bool_type")
                return defaultValue
            }
            return flag
        }

        public func finish() throws(ValidationError) {
            if !issues.isEmpty { throw ValidationError(issues) }
        }
    }

    /// A body must be a JSON object; anything else is one 422 issue at `["body"]`.
    public static func objectBody(_ value: JSONValue) throws(ValidationError) -> JSONObject {
        guard case .object(let object) = value else {
            throw ValidationError(ValidationIssue([.key("body")], "Input should be a valid dictionary or object, got \(value.typeName)", type: "model_attributes_type"))
        }
        return object
    }

    /// Parses a raw body, turning malformed JSON into the 422 FastAPI gives for it.
    public static func parseBody(_ bytes: [UInt8]) throws(ValidationError) -> JSONValue {
        if bytes.isEmpty {
            throw ValidationError(ValidationIssue([.key("body")], "Field required: the request needs a JSON body", type: "missing"))
        }
        do {
            return try JSONParser.parse(bytes)
        } catch {
            throw ValidationError(ValidationIssue([.key("body"), .index(error.offset)], "JSON decode error: \(error.message)", type: "json_invalid"))
        }
    }
}
