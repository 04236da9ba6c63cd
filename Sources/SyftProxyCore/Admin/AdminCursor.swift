/// A position in an admin index, opaque to clients: the index entry ("<time>:<id>", time as
/// zero-padded fixed-point seconds) hex-encoded. Entries compare as text, which orders them by
/// time, then id; a page continues strictly below its cursor, so ties never repeat or vanish.
public struct AdminCursor: Sendable, Equatable, Comparable {
    public let entry: String

    public init(entry: String) { self.entry = entry }

    /// The index entry of a request at `time`; the same text the Redis scripts build.
    public static func entry(time: Double, id: String) -> String {
        let micros = Int64((time * 1_000_000).rounded())
        let whole = String(micros / 1_000_000)
        let fraction = String(micros % 1_000_000)
        let padded = String(repeating: "0", count: max(0, 10 - whole.count)) + whole
        return padded + "." + String(repeating: "0", count: 6 - fraction.count) + fraction + ":" + id
    }

    /// Characters of the time part and its ':' (what precedes the id).
    public static let timeWidth = 18

    public var id: String { String(entry.dropFirst(Self.timeWidth)) }

    public var token: String {
        var out = ""
        for byte in entry.utf8 {
            let digits = Array("0123456789abcdef")
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return out
    }

    /// Nil for text no ``token`` made.
    public init?(token: String) {
        guard !token.isEmpty, token.count % 2 == 0, token.count <= 400 else { return nil }
        var bytes: [UInt8] = []
        var high: UInt8?
        for character in token.utf8 {
            let value: UInt8
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): value = character - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): value = character - UInt8(ascii: "a") + 10
            default: return nil
            }
            if let first = high {
                bytes.append(first << 4 | value)
                high = nil
            } else {
                high = value
            }
        }
        guard let text = String(validating: bytes, as: UTF8.self), text.utf8.count > Self.timeWidth else { return nil }
        entry = text
    }

    public static func < (lhs: AdminCursor, rhs: AdminCursor) -> Bool { lhs.entry < rhs.entry }
}
