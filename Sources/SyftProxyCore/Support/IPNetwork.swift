/// An IPv4 or IPv6 address as its raw network-order bytes (4 or 16), parsed from text without
/// any socket API, so it works the same for configuration, headers and peer addresses.
public struct IPAddress: Sendable, Hashable, CustomStringConvertible {
    /// 4 bytes for IPv4, 16 for IPv6, network order.
    public let bytes: [UInt8]

    public init?(bytes: [UInt8]) {
        guard bytes.count == 4 || bytes.count == 16 else { return nil }
        self.bytes = bytes
    }

    /// "10.1.2.3", "::1", "2001:db8::1", "::ffff:10.1.2.3"; "[::1]" and a zone ("fe80::1%eth0")
    /// are accepted too. Anything else (ports, host names, leading zeros in IPv4) is nil.
    public init?(_ text: some StringProtocol) {
        var text = Substring(text)
        if text.hasPrefix("["), text.hasSuffix("]") { text = text.dropFirst().dropLast() }
        if let percent = text.firstIndex(of: "%") {
            guard text.contains(":"), text.index(after: percent) < text.endIndex else { return nil }
            text = text[..<percent]
        }
        if text.contains(":") {
            guard let bytes = Self.parseIPv6(text) else { return nil }
            self.bytes = bytes
        } else {
            guard let bytes = Self.parseIPv4(text) else { return nil }
            self.bytes = bytes
        }
    }

    public var isIPv4: Bool { bytes.count == 4 }

    /// The IPv4 address inside an IPv4-mapped IPv6 address (::ffff:a.b.c.d), else nil.
    public var ipv4Mapped: IPAddress? {
        guard bytes.count == 16, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xff, bytes[11] == 0xff else { return nil }
        return IPAddress(bytes: Array(bytes[12...]))
    }

    /// Dotted quad for IPv4; RFC 5952 form for IPv6 (lower case, longest zero run as "::").
    public var description: String {
        if isIPv4 { return bytes.map(String.init).joined(separator: ".") }
        let groups = (0..<8).map { Int(bytes[2 * $0]) << 8 | Int(bytes[2 * $0 + 1]) }
        var bestStart = -1, bestLength = 0, runStart = -1
        for index in 0...8 {
            if index < 8, groups[index] == 0 {
                if runStart < 0 { runStart = index }
            } else if runStart >= 0 {
                if index - runStart > bestLength, index - runStart >= 2 { bestStart = runStart; bestLength = index - runStart }
                runStart = -1
            }
        }
        func hex(_ range: Range<Int>) -> String { range.map { String(groups[$0], radix: 16) }.joined(separator: ":") }
        guard bestStart >= 0 else { return hex(0..<8) }
        return hex(0..<bestStart) + "::" + hex((bestStart + bestLength)..<8)
    }

    static func parseIPv4(_ text: Substring) -> [UInt8]? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 4 else { return nil }
        var bytes: [UInt8] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 3, part.allSatisfy({ $0.isASCII && $0.isNumber }),
                part == "0" || part.first != "0", let value = UInt8(part)
            else { return nil }
            bytes.append(value)
        }
        return bytes
    }

    static func parseIPv6(_ text: Substring) -> [UInt8]? {
        guard text.count <= 45 else { return nil }
        var head: [UInt16] = [], tail: [UInt16] = []
        let string = String(text)
        var halves: [String] = []
        if let gap = string.firstRange(of: "::") {
            halves = [String(string[..<gap.lowerBound]), String(string[gap.upperBound...])]
            guard halves[1].firstRange(of: "::") == nil else { return nil }
        } else {
            halves = [string]
        }
        let sawGap = halves.count == 2
        func groups(_ part: String, allowIPv4: Bool) -> [UInt16]? {
            if part.isEmpty { return [] }
            var result: [UInt16] = []
            let pieces = part.split(separator: ":", omittingEmptySubsequences: false)
            for (index, piece) in pieces.enumerated() {
                if allowIPv4, index == pieces.count - 1, piece.contains(".") {
                    guard let v4 = parseIPv4(piece) else { return nil }
                    result.append(UInt16(v4[0]) << 8 | UInt16(v4[1]))
                    result.append(UInt16(v4[2]) << 8 | UInt16(v4[3]))
                    continue
                }
                guard (1...4).contains(piece.count), piece.allSatisfy(\.isHexDigit), let value = UInt16(piece, radix: 16) else { return nil }
                result.append(value)
            }
            return result
        }
        if sawGap {
            guard let first = groups(halves[0], allowIPv4: false), let second = groups(halves[1], allowIPv4: true) else { return nil }
            head = first
            tail = second
            guard head.count + tail.count <= 7 else { return nil }
        } else {
            guard let all = groups(halves[0], allowIPv4: true), all.count == 8 else { return nil }
            head = all
        }
        let all = head + Array(repeating: 0, count: 8 - head.count - tail.count) + tail
        return all.flatMap { [UInt8($0 >> 8), UInt8($0 & 0xff)] }
    }
}

/// A CIDR block such as "10.0.0.0/8", "192.168.1.7" (a single host), "::1/128" or "fd00::/8".
/// `contains` matches addresses of the same family; an IPv4-mapped IPv6 address
/// (::ffff:10.1.2.3) is matched as the IPv4 address it carries.
public struct IPNetwork: Sendable, Hashable, CustomStringConvertible {
    /// The network address with the host bits cleared.
    public let address: IPAddress
    public let prefixLength: Int

    public init?(address: IPAddress, prefixLength: Int) {
        guard (0...address.bytes.count * 8).contains(prefixLength) else { return nil }
        self.prefixLength = prefixLength
        self.address = IPAddress(bytes: Self.masked(address.bytes, prefixLength))!
    }

    /// "address/prefix" or a bare address (all bits significant). Host bits set in the address
    /// are cleared ("10.1.2.3/8" is 10.0.0.0/8), as most tools do.
    public init?(_ text: some StringProtocol) {
        let trimmed = text.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed()
        let text = String(trimmed)
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), let address = IPAddress(parts[0]) else { return nil }
        var length = address.bytes.count * 8
        if parts.count == 2 {
            guard !parts[1].isEmpty, parts[1].count <= 3, parts[1].allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(parts[1]) else { return nil }
            length = value
        }
        self.init(address: address, prefixLength: length)
    }

    /// Comma-separated networks ("10.0.0.0/8, ::1"); empty entries are skipped. Fails with
    /// the first entry that is not a network.
    public static func parseList(_ text: String) -> Result<[IPNetwork], InvalidNetwork> {
        var networks: [IPNetwork] = []
        for entry in text.split(separator: ",") {
            let trimmed = String(entry.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            if trimmed.isEmpty { continue }
            guard let network = IPNetwork(trimmed) else { return .failure(InvalidNetwork(text: trimmed)) }
            networks.append(network)
        }
        return .success(networks)
    }

    public struct InvalidNetwork: Error, Sendable, Equatable {
        public let text: String
        public init(text: String) { self.text = text }
    }

    public func contains(_ address: IPAddress) -> Bool {
        var candidate = address
        if candidate.bytes.count != self.address.bytes.count {
            guard let mapped = candidate.ipv4Mapped, self.address.isIPv4 else { return false }
            candidate = mapped
        }
        return Self.masked(candidate.bytes, prefixLength) == self.address.bytes
    }

    /// False for text that is not an address.
    public func contains(_ text: some StringProtocol) -> Bool {
        guard let address = IPAddress(text) else { return false }
        return contains(address)
    }

    public var description: String { "\(address)/\(prefixLength)" }

    static func masked(_ bytes: [UInt8], _ prefixLength: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let bitsBefore = index * 8
            if prefixLength >= bitsBefore + 8 { return byte }
            if prefixLength <= bitsBefore { return 0 }
            return byte & ~(UInt8(0xff) >> UInt8(prefixLength - bitsBefore))
        }
    }
}

extension Array where Element == IPNetwork {
    /// Whether any network of the list holds `address`.
    public func containsAddress(_ address: IPAddress) -> Bool { contains { $0.contains(address) } }
}
