import CHiredis

/// hiredis' incremental reply parser, building `RESPValue`s as it reads.
///
/// hiredis' own reply objects would copy every string out of its read buffer into a malloc'd
/// `redisReply`, to be copied again into a `RESPValue` and freed; its create callbacks
/// (`ReplyNode`) copy each string once, straight into the value. The C reader is not thread
/// safe, so an instance is owned by one channel handler and used on that channel's event loop
/// only; it is freed with the handler.
final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>
    /// hiredis keeps a pointer to the table, so it lives as long as the reader.
    private let functions: UnsafeMutablePointer<redisReplyObjectFunctions>

    init() throws {
        functions = .allocate(capacity: 1)
        functions.initialize(to: ReplyNode.functions)
        guard let reader = redisReaderCreateWithFunctions(functions) else {
            functions.deallocate()
            throw RedisError.protocolError("hiredis could not allocate a reply reader")
        }
        self.reader = reader
    }

    deinit {
        // First the reader: freeing it hands a half-read reply to the table's freeObject.
        redisReaderFree(reader)
        functions.deinitialize(count: 1)
        functions.deallocate()
    }

    func feed(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        // Feeding fails only when the reader is already in an error state.
        if redisReaderFeed(reader, base.assumingMemoryBound(to: CChar.self), bytes.count) != REDIS_OK {
            throw RedisError.protocolError(errorText)
        }
    }

    /// The next complete reply, or nil until more bytes arrive.
    func next() throws -> RESPValue? {
        var raw: UnsafeMutableRawPointer?
        guard redisReaderGetReply(reader, &raw) == REDIS_OK else { throw RedisError.protocolError(errorText) }
        guard let raw else { return nil }
        return Unmanaged<ReplyNode>.fromOpaque(raw).takeRetainedValue().finish()
    }

    private var errorText: String {
        withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }
}
