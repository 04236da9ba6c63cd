import CHiredis

/// hiredis' incremental reply parser. The C reader is not thread safe, so an instance is owned
/// by one channel handler and used on that channel's event loop only; it is freed with the
/// handler.
final class HiredisReader {
    private let reader: UnsafeMutablePointer<redisReader>

    init() throws {
        guard let reader = redisReaderCreate() else { throw RedisError.protocolError("hiredis could not allocate a reply reader") }
        self.reader = reader
    }

    deinit { redisReaderFree(reader) }

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
        defer { freeReplyObject(raw) }
        return Self.convert(raw.assumingMemoryBound(to: redisReply.self))
    }

    private var errorText: String {
        withUnsafeBytes(of: reader.pointee.errstr) { bytes in
            String(decoding: bytes.prefix { $0 != 0 }, as: UTF8.self)
        }
    }

    private static func convert(_ reply: UnsafeMutablePointer<redisReply>) -> RESPValue {
        let value = reply.pointee
        switch value.type {
        case REDIS_REPLY_STRING:
            return .bulkString(bytes(value.str, count: value.len))
        case REDIS_REPLY_STATUS:
            return .simpleString(String(decoding: bytes(value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_ERROR:
            return .error(String(decoding: bytes(value.str, count: value.len), as: UTF8.self))
        case REDIS_REPLY_INTEGER:
            return .integer(Int64(value.integer))
        case REDIS_REPLY_ARRAY:
            var items: [RESPValue] = []
            items.reserveCapacity(Int(value.elements))
            for index in 0..<Int(value.elements) {
                items.append(value.element?[index].map(convert) ?? .null)
            }
            return .array(items)
        default:
            // REDIS_REPLY_NIL: a null bulk string or a null array.
            return .null
        }
    }

    private static func bytes(_ pointer: UnsafeMutablePointer<CChar>?, count: Int) -> [UInt8] {
        guard let pointer, count > 0 else { return [] }
        return Array(UnsafeRawBufferPointer(start: pointer, count: count))
    }
}
