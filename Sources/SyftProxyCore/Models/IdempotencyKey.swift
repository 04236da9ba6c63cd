import Crypto

/// An Idempotency-Key as a store sees it: the caller's key scoped to that caller, and the
/// request it stands for. Both are SHA-256 digests in hex, so no caller text reaches a store
/// key and two callers' keys cannot meet.
public struct IdempotencyKey: Sendable, Equatable {
    /// Identifies (caller, key): what a store indexes by.
    public let scopedKey: String
    /// Identifies what the request asks for; a repeat must match the first use.
    public let requestDigest: String

    /// `scope` names the caller (its identity, else its address); `request` is the request
    /// the key would create. `blocking` is no part of a request: a caller may retry a
    /// non-blocking send as a blocking one and get the same request.
    public init(key: String, scope: String, request: NewRequest) {
        var scoped = SHA256()
        Self.feed(&scoped, scope)
        Self.feed(&scoped, key)
        scopedKey = Self.hex(scoped.finalize())

        var canonical = SHA256()
        Self.feed(&canonical, request.appName)
        Self.feed(&canonical, request.funcName)
        Self.feed(&canonical, request.destination)
        Self.feed(&canonical, request.compactParams)
        Self.feed(&canonical, JSONValue.stringMap(request.headers).compactBytes)
        Self.feed(&canonical, JSONValue.format(request.timeout))
        requestDigest = Self.hex(canonical.finalize())
    }

    /// Each part is length-prefixed, so no two different lists of parts hash the same input.
    private static func feed(_ hasher: inout SHA256, _ text: String) {
        feed(&hasher, Array(text.utf8))
    }

    private static func feed(_ hasher: inout SHA256, _ bytes: [UInt8]) {
        let length = Array("\(bytes.count):".utf8)
        length.withUnsafeBytes { hasher.update(bufferPointer: $0) }
        bytes.withUnsafeBytes { hasher.update(bufferPointer: $0) }
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(SHA256.Digest.byteCount * 2)
        for byte in digest {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// The caller used its Idempotency-Key before for a different request; nothing was created.
public struct IdempotencyKeyReused: Error, Sendable, Equatable, CustomStringConvertible {
    public init() {}
    public var description: String {
        "this Idempotency-Key was already used for a different request; send a new key for a new request"
    }
}
