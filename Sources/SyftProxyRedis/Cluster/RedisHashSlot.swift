/// Redis Cluster's key-to-slot mapping: CRC16 (XMODEM) of the key, or of its hash tag, the
/// text between the first `{` and the next `}` when that text is not empty, modulo 16384.
public enum RedisHashSlot {
    public static let count = 16384

    public static func slot(of key: String) -> Int {
        var utf8 = Array(key.utf8)
        if let open = utf8.firstIndex(of: UInt8(ascii: "{")),
            let close = utf8[(open + 1)...].firstIndex(of: UInt8(ascii: "}")), close > open + 1
        {
            utf8 = Array(utf8[(open + 1)..<close])
        }
        return Int(crc16(utf8) % UInt16(count))
    }

    static func crc16(_ bytes: [UInt8]) -> UInt16 {
        var crc: UInt16 = 0
        for byte in bytes {
            crc = (crc << 8) ^ table[Int(UInt8(truncatingIfNeeded: crc >> 8) ^ byte)]
        }
        return crc
    }

    private static let table: [UInt16] = (0..<256).map { index in
        var crc = UInt16(index) << 8
        for _ in 0..<8 { crc = crc & 0x8000 != 0 ? (crc << 1) ^ 0x1021 : crc << 1 }
        return crc
    }
}
