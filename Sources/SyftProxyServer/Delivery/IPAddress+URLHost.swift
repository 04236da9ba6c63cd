#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SyftProxyCore

/// How push URLs name addresses. The outbound policy must read a URL's host exactly as the
/// system's resolver will, or a spelling the policy does not know walks past it.
extension IPAddress {
    /// RFC 6052 well-known NAT64 prefix: a gateway forwards 64:ff9b::a.b.c.d to a.b.c.d.
    static let nat64Prefix: [UInt8] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]

    /// A URL host as the resolver would read it: `[v6]` with or without a zone, IPv4 in any
    /// form inet_aton accepts (2852039166, 0251.0376.0251.0376, 0xa9fea9fe, 169.254.43518) and
    /// with trailing dots. nil for a name.
    init?(urlHost host: String) {
        var text = Substring(host)
        if text.hasPrefix("["), text.hasSuffix("]") {
            text = text.dropFirst().dropLast()
            if let zone = text.firstIndex(of: "%") { text = text[..<zone] }
            var v6 = in6_addr()
            guard inet_pton(AF_INET6, String(text), &v6) == 1 else { return nil }
            let bytes = withUnsafeBytes(of: &v6) { Array($0) }
            // An IPv4-mapped address connects to the IPv4 host: treat it as that address.
            guard let mapped = IPAddress(bytes: bytes)?.ipv4Mapped else {
                self.init(bytes: bytes)
                return
            }
            self = mapped
            return
        }
        while text.hasSuffix(".") { text = text.dropLast() }
        // inet_aton also takes trailing junk after a space; a URL host has none, so refuse it
        // rather than read "1.2.3.4 x" as an address.
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X") }) else { return nil }
        var v4 = in_addr()
        guard inet_aton(String(text), &v4) != 0 else { return nil }
        self.init(bytes: withUnsafeBytes(of: &v4) { Array($0) })
    }

    /// The IPv4 address a NAT64 gateway would forward this to, checked as well so the
    /// translated spelling of a denied IPv4 address is denied too.
    var nat64Target: IPAddress? {
        bytes.count == 16 && bytes.starts(with: Self.nat64Prefix) ? IPAddress(bytes: Array(bytes[12...])) : nil
    }

    /// How the address goes into a URL's authority.
    var urlHost: String { isIPv4 ? description : "[\(description)]" }
}
