/// A Lua script run by EVALSHA; its SHA1 is computed once.
public struct RedisScript: Sendable {
    public let source: String
    public let sha1: String

    public init(_ source: String) {
        self.source = source
        self.sha1 = SHA1.hex(source)
    }
}
