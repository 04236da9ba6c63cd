/// W3C trace context (`traceparent`): the proxy continues the caller's trace when it forwards
/// a request, as a child span, and starts one when the caller sent none.
public enum TraceParent {
    /// A child of `parent` (same trace id and flags, new span id), or a fresh sampled trace.
    public static func child(of parent: String?) -> String {
        if let parent, let parts = parse(parent) {
            return "00-\(parts.traceID)-\(randomHex(bytes: 8))-\(parts.flags)"
        }
        return "00-\(randomHex(bytes: 16))-\(randomHex(bytes: 8))-01"
    }

    /// Splits a valid version-00 header; nil for anything malformed or all-zero.
    public static func parse(_ header: String) -> (traceID: String, spanID: String, flags: String)? {
        let fields = header.split(separator: "-", omittingEmptySubsequences: false)
        guard fields.count >= 4, fields[0].count == 2, fields[0] != "ff",
            fields[1].count == 32, fields[2].count == 16, fields[3].count == 2,
            fields.allSatisfy({ $0.allSatisfy(\.isHexDigit) }),
            fields[1].contains(where: { $0 != "0" }), fields[2].contains(where: { $0 != "0" })
        else { return nil }
        return (String(fields[1]).lowercased(), String(fields[2]).lowercased(), String(fields[3]).lowercased())
    }

    static func randomHex(bytes: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        let digits = Array("0123456789abcdef")
        var text = ""
        text.reserveCapacity(bytes * 2)
        for _ in 0..<bytes {
            let byte = UInt8.random(in: 0...255, using: &generator)
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return text
    }
}
