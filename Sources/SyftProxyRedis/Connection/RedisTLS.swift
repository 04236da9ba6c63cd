import NIOCore
import NIOSSL

/// TLS towards Redis (`rediss://`). The certificate chain is verified against `caFile` (or the
/// system's trust roots), and the certificate must name the host the URL names, unless
/// `verifyHostname` is turned off for a Redis whose certificate names something else.
public struct RedisTLS: Sendable, Equatable {
    /// PEM file of the certificate authorities to trust; nil trusts the system's roots.
    public var caFile: String?
    /// PEM client certificate and key, for a Redis that asks for one (`tls-auth-clients yes`).
    public var certificateFile: String?
    public var keyFile: String?
    /// The name the certificate must carry; nil means the URL's host.
    public var serverName: String?
    public var verifyHostname: Bool

    public init(caFile: String? = nil, certificateFile: String? = nil, keyFile: String? = nil, serverName: String? = nil, verifyHostname: Bool = true) {
        self.caFile = caFile
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverName = serverName
        self.verifyHostname = verifyHostname
    }

    /// The client context, built once per pool or subscriber from the files as they are now;
    /// a file that cannot be read or parsed is an error that names it.
    public func makeContext() throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = verifyHostname ? .fullVerification : .noHostnameVerification
        if let caFile {
            do { configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(caFile)) } catch {
                throw RedisError.invalidTLS("the CA file \(caFile) is not readable PEM certificates (\(error))")
            }
        }
        switch (certificateFile, keyFile) {
        case (nil, nil):
            break
        case (let certificateFile?, let keyFile?):
            do {
                configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(certificateFile).map { .certificate($0) }
            } catch {
                throw RedisError.invalidTLS("the client certificate file \(certificateFile) is not readable PEM (\(error))")
            }
            do { configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem)) } catch {
                throw RedisError.invalidTLS("the client key file \(keyFile) is not a readable PEM private key (\(error))")
            }
        default:
            throw RedisError.invalidTLS("a client certificate needs both its certificate file and its key file")
        }
        do { return try NIOSSLContext(configuration: configuration) } catch {
            throw RedisError.invalidTLS("cannot set up TLS (\(error))")
        }
    }

    /// What goes into SNI and is checked against the certificate: a name, never an IP literal
    /// (SNI cannot carry one; NIOSSL then checks the peer's address against the IP SANs).
    func expectedName(host: String) -> String? {
        let name = serverName ?? host
        return Self.isIPLiteral(name) ? nil : name
    }

    static func isIPLiteral(_ text: String) -> Bool {
        if text.contains(":") { return true }
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts.allSatisfy { !$0.isEmpty && $0.allSatisfy(\.isNumber) }
    }
}
