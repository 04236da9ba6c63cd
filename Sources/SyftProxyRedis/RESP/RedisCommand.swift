/// One command and its arguments, binary safe.
///
/// The arguments live back to back in one byte array, so building a command costs two
/// allocations whatever its argument count, and hiredis can be handed pointers into it
/// without copying.
public struct RedisCommand: Sendable {
    /// Every argument's bytes, concatenated, then one spare byte: the storage is never empty,
    /// so every argument, even an empty one, has a valid address to hand to hiredis.
    var storage: [UInt8]
    /// The byte count of each argument, in order.
    var lengths: [Int]

    public init(_ arguments: String...) { self.init(arguments) }

    public init(_ arguments: [String]) {
        storage = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.utf8.count })
        lengths = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            storage.append(contentsOf: argument.utf8)
            lengths.append(argument.utf8.count)
        }
        storage.append(0)
    }

    public init(arguments: [[UInt8]]) {
        storage = []
        storage.reserveCapacity(arguments.reduce(1) { $0 + $1.count })
        lengths = []
        lengths.reserveCapacity(arguments.count)
        for argument in arguments {
            storage.append(contentsOf: argument)
            lengths.append(argument.count)
        }
        storage.append(0)
    }

    /// The arguments, each as its own byte array.
    public var arguments: [[UInt8]] {
        var offset = 0
        return lengths.map { length in
            defer { offset += length }
            return Array(storage[offset..<offset + length])
        }
    }

    /// The command name, for logs and error messages (never the arguments, which may be secrets).
    public var name: String {
        String(decoding: storage.prefix(lengths.first ?? 0), as: UTF8.self)
    }
}
