#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 address as 16 bytes; IPv4 is kept in its IPv4-mapped IPv6 form
/// (::ffff:a.b.c.d), so `[::ffff:169.254.169.254]` and `169.254.169.254` are one address and
/// fall in the same networks.
public struct PushAddress: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]

    static let mappedPrefix: [UInt8] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]
    /// RFC 6052 well-known NAT64 prefix: a gateway forwards 64:ff9b::a.b.c.d to a.b.c.d.
    static let nat64Prefix: [UInt8] = [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0]

    init(bytes: [UInt8]) { self.bytes = bytes }

    init(ipv4 octets: [UInt8]) { self.bytes = Self.mappedPrefix + octets }

    /// Strict textual forms only (dotted quad, RFC 4291 IPv6), as written in a setting.
    init?(strict text: String) {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            self.init(ipv4: withUnsafeBytes(of: &v4) { Array($0) })
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, text, &v6) == 1 else { return nil }
        self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
    }

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
            self.init(bytes: withUnsafeBytes(of: &v6) { Array($0) })
            return
        }
        while text.hasSuffix(".") { text = text.dropLast() }
        // inet_aton also takes trailing junk after a space; a URL host has none, so refuse it
        // rather than read "1.2.3.4 x" as an address.
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isHexDigit || $0 == "." || $0 == "x" || $0 == "X") }) else { return nil }
        var v4 = in_addr()
        guard inet_aton(String(text), &v4) != 0 else { return nil }
        self.init(ipv4: withUnsafeBytes(of: &v4) { Array($0) })
    }

    var isIPv4: Bool { bytes.starts(with: Self.mappedPrefix) }

    /// The IPv4 address a NAT64 gateway would forward this to, checked as well so the
    /// translated spelling of a denied IPv4 address is denied too.
    var nat64Target: PushAddress? {
        bytes.starts(with: Self.nat64Prefix) ? PushAddress(ipv4: Array(bytes[12...])) : nil
    }

    /// How the address goes into a URL's authority.
    var urlHost: String { isIPv4 ? description : "[\(description)]" }

    public var description: String {
        if isIPv4 { return bytes[12...].map { String($0) }.joined(separator: ".") }
        var v6 = in6_addr()
        withUnsafeMutableBytes(of: &v6) { $0.copyBytes(from: bytes) }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        guard inet_ntop(AF_INET6, &v6, &buffer, socklen_t(buffer.count)) != nil else { return "?" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// A CIDR network (`10.0.0.0/8`, `fd00:ec2::254/128`, or a bare address for a single host)
/// for the push delivery policy. IPv4 networks live in the IPv4-mapped range, so they match
/// mapped IPv6 spellings of their addresses.
public struct PushNetwork: Sendable, Hashable, CustomStringConvertible {
    let base: PushAddress
    /// In bits of the 128-bit form.
    let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count <= 2, let address = PushAddress(strict: String(parts[0])) else { return nil }
        let width = address.isIPv4 ? 32 : 128
        var length = width
        if parts.count == 2 {
            guard let parsed = Int(parts[1]), (0...width).contains(parsed), parts[1].allSatisfy(\.isNumber) else { return nil }
            length = parsed
        }
        prefixLength = length + (128 - width)
        base = PushAddress(bytes: Self.masked(address.bytes, prefixLength))
    }

    public func contains(_ address: PushAddress) -> Bool {
        Self.masked(address.bytes, prefixLength) == base.bytes
    }

    public var description: String {
        base.isIPv4 && prefixLength >= 96 ? "\(base)/\(prefixLength - 96)" : "\(base)/\(prefixLength)"
    }

    private static func masked(_ bytes: [UInt8], _ length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bits = max(0, min(8, length - index * 8))
            return bits == 8 ? byte : byte & ~(UInt8(0xff) >> bits)
        }
    }

    /// A comma-separated list from the setting `name`; an entry that is no network is a
    /// configuration error naming it.
    public static func list(parsing text: String, setting name: String) throws(ConfigurationError) -> [PushNetwork] {
        var networks: [PushNetwork] = []
        for entry in text.split(separator: ",") {
            let trimmed = String(entry).trimmingWhitespace
            if trimmed.isEmpty { continue }
            guard let network = PushNetwork(trimmed) else {
                throw ConfigurationError("\(name) must be a comma-separated list of networks such as 10.0.0.0/8 or fd00::/8, got '\(trimmed)'")
            }
            networks.append(network)
        }
        return networks
    }
}
