/// A Redis reply (RESP2).
public enum RESPValue: Sendable, Equatable {
    case simpleString(String)
    case error(String)
    case integer(Int64)
    case bulkString([UInt8])
    case null
    case array([RESPValue])

    /// Simple or bulk string as UTF-8; nil for anything else.
    public var string: String? {
        switch self {
        case .simpleString(let text): text
        case .bulkString(let bytes): String(decoding: bytes, as: UTF8.self)
        default: nil
        }
    }

    /// The raw bytes of a bulk or simple string; nil for anything else.
    public var bytes: [UInt8]? {
        switch self {
        case .bulkString(let bytes): bytes
        case .simpleString(let text): Array(text.utf8)
        default: nil
        }
    }

    /// Integer replies, and strings that hold an integer: Lua scripts and many commands
    /// return numbers as bulk strings.
    public var int: Int64? {
        switch self {
        case .integer(let value): value
        case .bulkString, .simpleString: string.flatMap { Int64($0) }
        default: nil
        }
    }

    public var array: [RESPValue]? {
        if case .array(let items) = self { items } else { nil }
    }

    public var isNull: Bool {
        if case .null = self { true } else { false }
    }
}
