import SyftProxyCore

/// API keys and the identities they stand for. Empty means the API is open (no keys
/// configured), in which case requests carry no identity.
public struct APIKeys: Sendable, Equatable {
    public let identities: [String: String]

    public init(_ identities: [String: String] = [:]) { self.identities = identities }

    public var isEmpty: Bool { identities.isEmpty }

    public func identity(for key: String) -> String? { identities[key] }

    /// `key=identity` pairs separated by commas or newlines; `#` starts a comment line.
    public init(parsing text: String, source: String) throws(ConfigurationError) {
        var identities: [String: String] = [:]
        for (number, rawEntry) in text.split(whereSeparator: { $0 == "," || $0 == "\n" }).enumerated() {
            let entry = String(rawEntry).trimmingWhitespace
            if entry.isEmpty || entry.hasPrefix("#") { continue }
            guard let equals = entry.firstIndex(of: "=") else {
                throw ConfigurationError("\(source): entry \(number + 1) must be key=identity, got '\(Self.redacted(entry))'")
            }
            let key = String(entry[..<equals]).trimmingWhitespace
            let identity = String(entry[entry.index(after: equals)...]).trimmingWhitespace
            guard key.count >= 8 else {
                throw ConfigurationError("\(source): entry \(number + 1) has a key shorter than 8 characters; use long random keys")
            }
            guard Validation.isIdentity(identity) else {
                throw ConfigurationError("\(source): entry \(number + 1) maps a key to '\(identity)', which is not an identity like bob@example.com")
            }
            if identities[key] != nil {
                throw ConfigurationError("\(source): entry \(number + 1) repeats a key")
            }
            identities[key] = identity
        }
        self.identities = identities
    }

    /// Enough of a key to recognise it in an error, not enough to use it.
    static func redacted(_ text: String) -> String {
        text.count <= 4 ? "****" : String(text.prefix(4)) + "****"
    }
}
