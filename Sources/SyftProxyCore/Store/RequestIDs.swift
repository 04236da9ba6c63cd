/// Request ids are lower-case RFC 4122 version-4 UUID text: SyftBox request files are named
/// after them, and clients treat them as opaque. A store may keep a small number (below 4096)
/// in the last three hex digits, so it can find a request's place from its id alone; the
/// other 110 random bits keep ids unguessable and collisions out of reach.
public enum RequestIDs {
    /// The largest number an id can carry, plus one.
    public static let embeddableValues = 4096

    /// A random version-4 UUID; with `value`, its last three hex digits spell it.
    public static func random(embedding value: Int? = nil) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        bytes[6] = (bytes[6] & 0x0F) | 0x40
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        if let value {
            let twelve = value & (embeddableValues - 1)
            bytes[14] = (bytes[14] & 0xF0) | UInt8(twelve >> 8)
            bytes[15] = UInt8(twelve & 0xFF)
        }
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(36)
        for (index, byte) in bytes.enumerated() {
            if [4, 6, 8, 10].contains(index) { text.append(UInt8(ascii: "-")) }
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }

    /// The number in the last three hex digits of a lower-case version-4 UUID; nil for any
    /// other text, so ids of another kind are simply not found.
    public static func embeddedValue(of id: String) -> Int? {
        let utf8 = Array(id.utf8)
        guard utf8.count == 36 else { return nil }
        var value = 0
        for (index, byte) in utf8.enumerated() {
            switch index {
            case 8, 13, 18, 23:
                guard byte == UInt8(ascii: "-") else { return nil }
            default:
                guard let digit = hexDigit(byte) else { return nil }
                if index == 14, digit != 4 { return nil }
                if index == 19, digit < 8 || digit > 11 { return nil }
                if index >= 33 { value = value << 4 | digit }
            }
        }
        return value
    }

    private static func hexDigit(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        default: nil
        }
    }
}

/// The sharded key layout's limits, shared by the configuration (PROXY_REDIS_SHARDS) and the
/// Redis store, which carries a request's shard in its id (``RequestIDs``).
public enum ShardLayout {
    public static let shardCounts: ClosedRange<Int> = 1...1024
    public static let defaultShardCount = 16
}
