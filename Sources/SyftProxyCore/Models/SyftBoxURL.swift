/// `syft://<identity>/app_data/<app_name>/rpc/<endpoint>`: how SyftBox names an app's RPC
/// endpoint on a user's datasite.
public struct SyftBoxURL: Sendable, Equatable, CustomStringConvertible {
    public var identity: String
    public var appName: String
    /// The path after `rpc/`; may contain slashes for nested endpoints.
    public var endpoint: String

    public init(identity: String, appName: String, endpoint: String) {
        self.identity = identity
        self.appName = appName
        self.endpoint = endpoint
    }

    public var description: String { "syft://\(identity)/app_data/\(appName)/rpc/\(endpoint)" }

    public enum ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        case notSyftScheme
        case badIdentity(String)
        case badPath(String)

        public var description: String {
            switch self {
            case .notSyftScheme:
                "must start with syft://, as in syft://bob@example.com/app_data/calculator/rpc/add"
            case .badIdentity(let identity):
                "identity '\(identity)' must contain exactly one '@', as in bob@example.com"
            case .badPath(let path):
                "path '\(path)' must have the form /app_data/<app_name>/rpc/<endpoint>"
            }
        }
    }

    /// Split on "/" scalars, not characters: a "/" followed by a combining mark is one
    /// character but still a path separator.
    public init(parsing text: String) throws(ParseError) {
        let prefix = "syft://"
        guard text.unicodeScalars.starts(with: prefix.unicodeScalars) else { throw .notSyftScheme }
        let rest = text.unicodeScalars.dropFirst(prefix.unicodeScalars.count)
        guard let slash = rest.firstIndex(of: "/") else { throw .badPath("") }
        let identity = String(String.UnicodeScalarView(rest[..<slash]))
        guard Validation.isIdentity(identity) else { throw .badIdentity(identity) }
        let path = rest[rest.index(after: slash)...]
        let segments = path.split(separator: "/", omittingEmptySubsequences: false).map { String(String.UnicodeScalarView($0)) }
        guard segments.count >= 4, segments[0] == "app_data", segments[2] == "rpc",
            segments[1].unicodeScalars.count >= 1, segments[1].unicodeScalars.count <= Validation.maximumNameLength,
            segments[3...].allSatisfy({ !$0.isEmpty })
        else { throw .badPath("/" + String(String.UnicodeScalarView(path))) }
        self.identity = identity
        self.appName = segments[1]
        self.endpoint = segments[3...].joined(separator: "/")
    }
}
