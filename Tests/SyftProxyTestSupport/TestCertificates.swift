import Foundation

/// A throwaway certificate authority and the certificates it signs, made with openssl in a
/// temporary folder: a server certificate for `localhost` (no IP address), a client
/// certificate, and a second, unrelated CA that trusts neither.
public struct TestCertificates: Sendable {
    public let directory: String
    public var caFile: String { directory + "/ca.crt" }
    public var serverCertificate: String { directory + "/server.crt" }
    public var serverKey: String { directory + "/server.key" }
    public var clientCertificate: String { directory + "/client.crt" }
    public var clientKey: String { directory + "/client.key" }
    public var otherCAFile: String { directory + "/other-ca.crt" }

    public static func make() throws -> TestCertificates {
        let directory = NSTemporaryDirectory() + "syft-proxy-tls-" + UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        try certificates.authority(name: "ca", subject: "/CN=syft-proxy test CA")
        try certificates.authority(name: "other-ca", subject: "/CN=an unrelated CA")
        try certificates.signed(name: "server", subject: "/CN=localhost",
                                extensions: "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n")
        try certificates.signed(name: "client", subject: "/CN=syft-proxy test client", extensions: "extendedKeyUsage=clientAuth\n")
        return certificates
    }

    public func remove() { try? FileManager.default.removeItem(atPath: directory) }

    private func authority(name: String, subject: String) throws {
        try openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", "\(directory)/\(name).key", "-out", "\(directory)/\(name).crt", "-days", "2", "-subj", subject])
    }

    private func signed(name: String, subject: String, extensions: String) throws {
        let base = "\(directory)/\(name)"
        try extensions.write(toFile: base + ".ext", atomically: true, encoding: .utf8)
        try openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                     "-keyout", base + ".key", "-out", base + ".csr", "-subj", subject])
        try openssl(["x509", "-req", "-in", base + ".csr", "-CA", caFile, "-CAkey", "\(directory)/ca.key", "-CAcreateserial",
                     "-out", base + ".crt", "-days", "2", "-extfile", base + ".ext"])
    }

    private func openssl(_ arguments: [String]) throws {
        let process = try ChildProcess("/usr/bin/openssl", arguments, collectOutput: true)
        guard process.waitUntilExit(within: 30) else {
            process.kill9()
            throw TestFailure("openssl \(arguments.first ?? "") did not finish within 30 s")
        }
        process.waitForOutputEnd(within: 2)
        guard process.terminationStatus == 0 else { throw TestFailure("openssl \(arguments.first ?? "") failed: \(process.output)") }
    }
}
