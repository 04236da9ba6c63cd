import CHiredis

/// A reply while hiredis reads it: the whole reply (its root) or an array whose elements are
/// still arriving.
///
/// hiredis holds nodes as opaque pointers. Only the root is retained for it, until `next()`
/// takes the finished reply or hiredis hands a half-read one to `freeObject` (a protocol
/// error, or the reader freed); every nested array is owned by its parent, so releasing the
/// root frees the whole tree. A scalar inside an array needs no node: it goes straight into
/// the parent's elements.
final class ReplyNode {
    private var scalar: RESPValue
    private var elements: [RESPValue]
    /// Nested arrays, filled in when the reply is finished: hiredis announces an array
    /// before its elements, and a `RESPValue` cannot be changed in place once stored.
    private var nested: [(index: Int, node: ReplyNode)] = []
    private let isArray: Bool

    private init(scalar: RESPValue) {
        self.scalar = scalar
        elements = []
        isArray = false
    }

    private init(arrayOf count: Int) {
        scalar = .null
        elements = []
        // A count from the wire: a malformed one must not reserve gigabytes up front.
        elements.reserveCapacity(min(max(count, 0), 1024))
        isArray = true
    }

    /// The finished value. Called once, when hiredis has read the whole reply.
    func finish() -> RESPValue {
        guard isArray else { return scalar }
        for (index, node) in nested { elements[index] = node.finish() }
        return .array(elements)
    }

    private func store(_ value: RESPValue, at index: Int) {
        // hiredis fills an array in order, so this appends; the padding is for a reader that
        // would not, and is never taken.
        while elements.count < index { elements.append(.null) }
        if index == elements.count { elements.append(value) } else { elements[index] = value }
    }

    /// Puts a scalar where hiredis' task says: into its parent array, or, for a reply that is
    /// a scalar, into a new root. nil tells hiredis the value could not be made.
    private static func place(_ value: RESPValue, for task: UnsafePointer<redisReadTask>?) -> UnsafeMutableRawPointer? {
        guard let task else { return nil }
        guard let parent = task.pointee.parent else {
            return Unmanaged.passRetained(ReplyNode(scalar: value)).toOpaque()
        }
        guard let parentObject = parent.pointee.obj else { return nil }
        Unmanaged<ReplyNode>.fromOpaque(parentObject).takeUnretainedValue().store(value, at: Int(task.pointee.idx))
        // hiredis only checks a nested scalar's pointer for NULL and never frees it.
        return parentObject
    }

    private static func placeArray(count: Int, for task: UnsafePointer<redisReadTask>?) -> UnsafeMutableRawPointer? {
        guard let task else { return nil }
        let node = ReplyNode(arrayOf: count)
        guard let parent = task.pointee.parent else { return Unmanaged.passRetained(node).toOpaque() }
        guard let parentObject = parent.pointee.obj else { return nil }
        let owner = Unmanaged<ReplyNode>.fromOpaque(parentObject).takeUnretainedValue()
        let index = Int(task.pointee.idx)
        owner.store(.null, at: index)
        owner.nested.append((index, node))
        // The parent holds the node; hiredis uses the pointer as the parent of its elements.
        return Unmanaged.passUnretained(node).toOpaque()
    }

    /// The callbacks hiredis calls as it reads (hiredis 0.14 `redisReplyObjectFunctions`).
    static var functions: redisReplyObjectFunctions {
        redisReplyObjectFunctions(
        createString: { task, bytes, count in
            guard let task else { return nil }
            let raw = UnsafeRawBufferPointer(start: bytes, count: bytes == nil ? 0 : count)
            switch task.pointee.type {
            case REDIS_REPLY_STATUS: return ReplyNode.place(.simpleString(String(decoding: raw, as: UTF8.self)), for: task)
            case REDIS_REPLY_ERROR: return ReplyNode.place(.error(String(decoding: raw, as: UTF8.self)), for: task)
            default: return ReplyNode.place(.bulkString(Array(raw)), for: task)
            }
        },
        createArray: { task, count in ReplyNode.placeArray(count: Int(count), for: task) },
        createInteger: { task, value in ReplyNode.place(.integer(Int64(value)), for: task) },
        // A null bulk string and a null array alike.
        createNil: { task in ReplyNode.place(.null, for: task) },
        freeObject: { object in
            guard let object else { return }
            Unmanaged<ReplyNode>.fromOpaque(object).release()
        })
    }
}
