import Foundation

/// PROXY_REDIS_TLS_*: how a replica speaks TLS to a `rediss://` Redis. Files are checked at
/// start, so a typo stops the replica with the setting's name instead of failing every connect.
public struct RedisTLSSettings: Sendable, Equatable {
    /// PEM file of the CAs to trust (PROXY_REDIS_TLS_CA_FILE); unset trusts the system's roots.
    public var caFile: String?
    /// Client certificate and key (PROXY_REDIS_TLS_CERT_FILE, PROXY_REDIS_TLS_KEY_FILE), for a
    /// Redis started with `tls-auth-clients yes`.
    public var certificateFile: String?
    public var keyFile: String?
    /// The name the server's certificate must carry (PROXY_REDIS_TLS_SERVER_NAME); unset means
    /// the URL's host.
    public var serverName: String?
    /// PROXY_REDIS_TLS_VERIFY_HOSTNAME: true by default; false accepts any name on a
    /// certificate the CA signed (for a Redis reached by an address its certificate lacks).
    public var verifyHostname = true

    public init() {}

    static let names = (ca: "PROXY_REDIS_TLS_CA_FILE", certificate: "PROXY_REDIS_TLS_CERT_FILE", key: "PROXY_REDIS_TLS_KEY_FILE",
                        serverName: "PROXY_REDIS_TLS_SERVER_NAME", verifyHostname: "PROXY_REDIS_TLS_VERIFY_HOSTNAME")

    init(environment: [String: String]) throws(ConfigurationError) {
        func value(_ name: String) -> String? {
            guard let text = environment[name]?.trimmingWhitespace, !text.isEmpty else { return nil }
            return text
        }
        caFile = value(Self.names.ca)
        certificateFile = value(Self.names.certificate)
        keyFile = value(Self.names.key)
        serverName = value(Self.names.serverName)
        if let text = value(Self.names.verifyHostname) {
            switch text.lowercased() {
            case "true", "1", "yes": verifyHostname = true
            case "false", "0", "no": verifyHostname = false
            default: throw ConfigurationError("\(Self.names.verifyHostname) must be true or false, got '\(text)'")
            }
        }
    }

    /// Whether any TLS setting was given.
    public var isConfigured: Bool { caFile != nil || certificateFile != nil || keyFile != nil || serverName != nil || !verifyHostname }

    func validate(redisURL: String?) throws(ConfigurationError) {
        guard isConfigured else { return }
        guard let redisURL, redisURL.hasPrefix("rediss://") || redisURL.hasPrefix("rediss+sentinel://") else {
            let given = [(Self.names.ca, caFile), (Self.names.certificate, certificateFile), (Self.names.key, keyFile), (Self.names.serverName, serverName)]
                .compactMap { $0.1 == nil ? nil : $0.0 } + (verifyHostname ? [] : [Self.names.verifyHostname])
            throw ConfigurationError("\(given.joined(separator: ", ")) given, but PROXY_REDIS_URL is not a rediss:// URL; use rediss://host:port (or rediss+sentinel://) for TLS")
        }
        if (certificateFile == nil) != (keyFile == nil) {
            throw ConfigurationError("\(Self.names.certificate) and \(Self.names.key) go together: a client certificate needs its key")
        }
        for (name, path) in [(Self.names.ca, caFile), (Self.names.certificate, certificateFile), (Self.names.key, keyFile)] {
            guard let path else { continue }
            guard FileManager.default.isReadableFile(atPath: path) else {
                throw ConfigurationError("\(name) (\(path)) is not a readable file; point it at a PEM file")
            }
        }
    }
}
