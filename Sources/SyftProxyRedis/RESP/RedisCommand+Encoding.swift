import NIOCore

extension RedisCommand {
    /// The frame to write. Throws for a command without even a name, which Redis would take
    /// for an empty request and never answer.
    func encoded() throws -> ByteBuffer {
        guard count > 0 else {
            throw RedisError.invalidCommand("a command needs at least its name, e.g. RedisCommand(\"PING\")")
        }
        return frame
    }
}
