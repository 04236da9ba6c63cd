import SyftProxyCore

/// Which addresses push deliveries may connect to. A registered URL makes the proxy send
/// requests from inside its network, so without a policy anyone who may register an endpoint
/// could read what the proxy can reach: above all the cloud metadata service, which hands out
/// the instance's credentials.
///
/// Rule: an address is refused when it lies in a denied network (the defaults below plus
/// PROXY_PUSH_DENY_NETWORKS) and in none of PROXY_PUSH_ALLOW_NETWORKS. Allow entries always win,
/// however wide, so they carve exceptions out of the defaults too. Loopback and private ranges
/// are allowed by default: apps next to the proxy in one cluster are the common case.
public struct PushAddressPolicy: Sendable, Equatable {
    public struct DefaultDenial: Sendable, Equatable {
        public let network: IPNetwork
        public let reason: String
    }

    /// Denied unless allowed; each with why, for the error an operator sees.
    public static let defaultDenials: [DefaultDenial] = [
        ("169.254.0.0/16", "IPv4 link-local, where cloud metadata services answer: 169.254.169.254 on AWS, GCP, Azure, OpenStack, Oracle and DigitalOcean, 169.254.170.2 for ECS task credentials"),
        ("fe80::/10", "IPv6 link-local"),
        ("fd00:ec2::254/128", "the AWS instance metadata service over IPv6"),
        ("100.100.100.200/32", "the Alibaba Cloud metadata service"),
        ("168.63.129.16/32", "the Azure platform endpoint (WireServer), which serves VM agent configuration"),
        ("0.0.0.0/8", "not a destination; Linux connects it to the proxy's own host"),
        ("::/128", "the unspecified address; Linux connects it to the proxy's own host"),
    ].compactMap { text, reason in IPNetwork(text).map { DefaultDenial(network: $0, reason: reason) } }

    public let denied: [IPNetwork]
    public let allowed: [IPNetwork]

    public init(denied: [IPNetwork], allowed: [IPNetwork]) {
        self.denied = denied
        self.allowed = allowed
    }

    public init(configuration: ProxyConfiguration) {
        self.init(denied: configuration.pushDenyNetworks, allowed: configuration.pushAllowNetworks)
    }

    /// Why `address` may not be connected to, or nil when it may. The message names the
    /// network and the setting to change.
    public func refusal(of address: IPAddress) -> String? {
        for candidate in [address] + (address.nat64Target.map { [$0] } ?? []) {
            if allowed.contains(where: { $0.contains(candidate) }) { continue }
            if let network = denied.first(where: { $0.contains(candidate) }) {
                return "\(address), in \(network), which PROXY_PUSH_DENY_NETWORKS denies; remove that network from PROXY_PUSH_DENY_NETWORKS or add the address to PROXY_PUSH_ALLOW_NETWORKS"
            }
            if let denial = Self.defaultDenials.first(where: { $0.network.contains(candidate) }) {
                return "\(address), in \(denial.network) (\(denial.reason)), which push deliveries may not reach by default; add the address or its network to PROXY_PUSH_ALLOW_NETWORKS to allow it"
            }
        }
        return nil
    }

    /// Checks the host of a URL written as an address; a name is checked when a delivery
    /// resolves it (``PushTarget``).
    public func refusal(ofURL url: String) -> String? {
        guard let target = PushTarget(url: url) else { return "url needs a host and, if any, a port from 1 to 65535, such as http://127.0.0.1:9000/rpc" }
        guard let address = target.literalAddress else { return nil }
        return refusal(of: address).map { "url points at \($0)" }
    }
}

/// A push URL taken apart the way deliveries connect to it. The forwarder connects to the
/// addresses it resolves and checks from `host`, never to what another parser reads in the
/// URL, so a URL two parsers disagree on cannot slip past the policy.
public struct PushTarget: Sendable, Equatable {
    public let isTLS: Bool
    /// Percent-decoded, brackets kept for IPv6; what is resolved.
    public let host: String
    public let port: Int
    /// The authority without userinfo, as the Host header carries it.
    public let hostHeader: String
    /// Path and query, from the first "/" or "?" on ("/" when empty).
    public let pathAndQuery: String

    public init?(url: String) {
        let lower = url.lowercased()
        let isTLS: Bool
        if lower.hasPrefix("http://") { isTLS = false } else if lower.hasPrefix("https://") { isTLS = true } else { return nil }
        let rest = url.dropFirst(isTLS ? 8 : 7)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        var authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
        var hostPart = authority
        var port = isTLS ? 443 : 80
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return nil }
            hostPart = authority[...close]
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":"), let parsed = Int(after.dropFirst()), (1...65535).contains(parsed) else { return nil }
                port = parsed
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            let portText = authority[authority.index(after: colon)...]
            if !portText.isEmpty {
                guard let parsed = Int(portText), (1...65535).contains(parsed) else { return nil }
                port = parsed
            }
        }
        let decoded = String(hostPart).removingPercentEncodingIfValid.lowercased()
        guard !decoded.isEmpty else { return nil }
        // Brackets promise an IPv6 address; anything else in them has no meaning to connect to.
        if decoded.hasPrefix("["), IPAddress(urlHost: decoded) == nil { return nil }
        self.isTLS = isTLS
        self.host = decoded
        self.port = port
        self.hostHeader = String(authority)
        var path = rest[authorityEnd...]
        if let fragment = path.firstIndex(of: "#") { path = path[..<fragment] }
        self.pathAndQuery = path.isEmpty ? "/" : (path.hasPrefix("?") ? "/" + path : String(path))
    }

    /// The host when the URL spells an address, in any form the resolver would accept.
    public var literalAddress: IPAddress? { IPAddress(urlHost: host) }

    /// The host without IPv6 brackets or trailing dots, as the resolver is asked for it.
    var resolvableName: String {
        var name = Substring(host)
        while name.hasSuffix(".") { name = name.dropLast() }
        return String(name)
    }

    /// Deliveries share forwarder slots per host and port.
    public var endpointKey: String { "\(host):\(port)" }

    /// The URL to request once `address` was checked: the address in place of the name, so
    /// nothing resolves the name again between the check and the connect.
    func url(connectingTo address: IPAddress) -> String {
        "http://\(address.urlHost):\(port)\(pathAndQuery)"
    }
}

extension String {
    /// Percent escapes decoded, or the text as is when an escape is malformed.
    fileprivate var removingPercentEncodingIfValid: String {
        guard contains("%") else { return self }
        var bytes: [UInt8] = []
        var iterator = utf8.makeIterator()
        while let byte = iterator.next() {
            guard byte == UInt8(ascii: "%") else { bytes.append(byte); continue }
            guard let high = iterator.next(), let low = iterator.next(),
                let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
            else { return self }
            bytes.append(value)
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
