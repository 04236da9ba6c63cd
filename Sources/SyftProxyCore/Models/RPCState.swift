/// The life of a request. `completed` and `failed` are final: nothing changes them again.
public enum RPCState: String, Sendable, Equatable, CaseIterable {
    case pending
    case processing
    case completed
    case failed

    public var isFinal: Bool { self == .completed || self == .failed }
}
