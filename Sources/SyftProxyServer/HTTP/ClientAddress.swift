import HTTPTypes
import Hummingbird
import NIOCore
import SyftProxyCore

/// Who the caller is at the network level. Behind an ingress every TCP peer is the ingress,
/// so the address it saw the caller at comes from X-Forwarded-For; the header is believed
/// only when the peer is a trusted proxy, since anyone else can write anything in it.
public enum ClientAddress {
    /// The peer's address as text (an IPv4-mapped IPv6 peer as its IPv4 form), "unknown"
    /// without one (a Unix socket, a test channel).
    static func peer(_ address: SocketAddress?) -> String {
        guard let text = address?.ipAddress else { return "unknown" }
        guard let parsed = IPAddress(text) else { return text }
        return (parsed.ipv4Mapped ?? parsed).description
    }

    /// Each proxy appends the address it received the request from, so the list is read right
    /// to left: past every trusted hop, the first address that is not trusted is the client
    /// (anything left of it was written by the client and proves nothing). A hop that is not
    /// an address ends the walk at the last trusted one, which is then the best answer known.
    public static func resolve(peer: String, forwardedFor: [String], trusted: [IPNetwork]) -> String {
        guard !trusted.isEmpty, let peerAddress = IPAddress(peer), trusted.containsAddress(peerAddress) else { return peer }
        var client = peer
        let hops = forwardedFor.flatMap { $0.split(separator: ",") }
        for hop in hops.reversed() {
            guard let address = parse(hop) else { break }
            client = address.description
            if !trusted.containsAddress(address) { break }
        }
        return client
    }

    /// "10.1.2.3", "2001:db8::1", and the forms some proxies write with a port: "10.1.2.3:5000",
    /// "[2001:db8::1]:5000".
    static func parse(_ hop: Substring) -> IPAddress? {
        let text = hop.trimmingCharacters(in: " \t")
        if let address = IPAddress(text) { return address.ipv4Mapped ?? address }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return IPAddress(text[text.index(after: text.startIndex)..<close]).map { $0.ipv4Mapped ?? $0 }
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return IPAddress(text[..<colon])
        }
        return nil
    }
}

extension Substring {
    fileprivate func trimmingCharacters(in set: String) -> Substring {
        var text = self
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return text
    }
}

extension HTTPField.Name {
    static let xForwardedFor = Self("X-Forwarded-For")!
}
