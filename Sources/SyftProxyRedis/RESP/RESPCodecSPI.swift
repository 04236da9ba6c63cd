import NIOCore

// The codec's wire steps, for the benchmark's `codec` cells: a release build has no
// @testable import, and these stay out of the public API behind the SPI name.

extension RedisCommand {
    /// The bytes `RedisConnection` writes for this command.
    @_spi(Codec) public func wireBytes() throws -> ByteBuffer {
        try encoded()
    }
}

/// The reply parser a connection uses, fed the way its channel handler feeds it.
@_spi(Codec) public struct RESPReplyParser {
    private let reader: HiredisReader

    public init() throws { reader = try HiredisReader() }

    /// Every complete reply in `bytes`; a partial one waits for the next call.
    public func replies(in bytes: ByteBuffer) throws -> [RESPValue] {
        try bytes.withUnsafeReadableBytes { try reader.feed($0) }
        var replies: [RESPValue] = []
        while let reply = try reader.next() { replies.append(reply) }
        return replies
    }
}
