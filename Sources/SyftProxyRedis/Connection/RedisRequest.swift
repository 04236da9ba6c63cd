import NIOCore

/// A command encoded for the wire and, unless no reply is expected, the promise its reply
/// completes.
struct RedisRequest: Sendable {
    /// Unique per connection: a cancelled caller names its command by it.
    let id: UInt64
    let bytes: ByteBuffer
    let promise: EventLoopPromise<RESPValue>?
    /// How long the reply may take once Redis could start on the command.
    let timeout: TimeAmount
}
