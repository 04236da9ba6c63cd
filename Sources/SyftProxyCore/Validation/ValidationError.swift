/// One problem in a request body, shaped like a FastAPI/pydantic error item so existing
/// clients can read it: `{"loc": ["body", "timeout"], "msg": "...", "type": "..."}`.
public struct ValidationIssue: Sendable, Equatable {
    public enum Location: Sendable, Equatable {
        case key(String)
        case index(Int)
    }

    public var location: [Location]
    public var message: String
    public var type: String

    public init(_ location: [Location], _ message: String, type: String) {
        self.location = location
        self.message = message
        self.type = type
    }

    public init(body path: Location..., message: String, type: String) {
        self.init([.key("body")] + path, message, type: type)
    }

    public var json: JSONValue {
        .object([
            "loc": .array(location.map { if case .key(let k) = $0 { .string(k) } else if case .index(let i) = $0 { .int(i) } else { .null } }),
            "msg": .string(message),
            "type": .string(type),
        ])
    }
}

/// All the problems found in one body; the API answers it as 422.
public struct ValidationError: Error, Sendable, Equatable, CustomStringConvertible {
    public var issues: [ValidationIssue]

    public init(_ issues: [ValidationIssue]) { self.issues = issues }
    public init(_ issue: ValidationIssue) { self.issues = [issue] }

    public var json: JSONValue { .object(["detail": .array(issues.map(\.json))]) }

    public var description: String {
        issues.map { issue in
            let path = issue.location.map { if case .key(let k) = $0 { k } else if case .index(let i) = $0 { String(i) } else { "" } }
            return path.joined(separator: ".") + ": " + issue.message
        }.joined(separator: "; ")
    }
}
