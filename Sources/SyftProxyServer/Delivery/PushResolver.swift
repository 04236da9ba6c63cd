import NIOPosix
import SyftProxyCore
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Resolves push hosts itself, because AsyncHTTPClient has no hook to vet the addresses it
/// would resolve: getaddrinfo runs on NIO's blocking thread pool, never on an event loop.
enum PushResolver {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Answers are kept this long, so a busy app costs one lookup a second rather than one per
    /// delivery. Caching widens no window: deliveries connect to the addresses that were
    /// checked, whenever they were looked up.
    static let cacheSeconds = 1.0
    private static let cache = Mutex<[String: (addresses: [IPAddress], until: Double)]>([:])

    /// Drops a cached answer, after its addresses refused a connection (the app may have moved).
    static func forget(_ name: String) {
        _ = cache.withLock { $0.removeValue(forKey: name) }
    }

    /// Every address `name` resolves to, in the resolver's preference order. Returns at once
    /// when the task is cancelled (the delivery's deadline passed); the lookup itself then
    /// finishes on its thread and its result is dropped.
    static func addresses(of name: String) async throws -> [IPAddress] {
        let now = Timestamp.now()
        if let cached = cache.withLock({ $0[name] }), cached.until > now { return cached.addresses }
        let addresses = try await lookUpOffLoop(name)
        cache.withLock { cache in
            // Names come from registrations; a bound keeps many distinct ones from piling up.
            if cache.count >= 1024 { cache = cache.filter { $0.value.until > now } }
            if cache.count < 1024 { cache[name] = (addresses, now + cacheSeconds) }
        }
        return addresses
    }

    private static func lookUpOffLoop(_ name: String) async throws -> [IPAddress] {
        let pending = PendingLookup()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<[IPAddress], any Error>) in
                guard pending.arm(continuation) else { return }
                NIOThreadPool.singleton.submit { state in
                    guard case .active = state else {
                        pending.finish(.failure(Failure(description: "the resolver thread pool is shut down")))
                        return
                    }
                    pending.finish(lookUp(name))
                }
            }
        } onCancel: {
            pending.finish(.failure(CancellationError()))
        }
    }

    private static func lookUp(_ name: String) -> Result<[IPAddress], any Error> {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        #if canImport(Glibc)
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        #else
        hints.ai_socktype = SOCK_STREAM
        #endif
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(name, nil, &hints, &list)
        guard status == 0 else {
            return .failure(Failure(description: "cannot resolve '\(name)': \(String(cString: gai_strerror(status)))"))
        }
        defer { freeaddrinfo(list) }
        var found: [IPAddress] = []
        var entry = list
        while let info = entry?.pointee {
            entry = info.ai_next
            guard let socketAddress = info.ai_addr else { continue }
            let address: IPAddress
            switch info.ai_family {
            case AF_INET:
                var v4 = socketAddress.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { $0.pointee.sin_addr }
                guard let parsed = IPAddress(bytes: withUnsafeBytes(of: &v4) { Array($0) }) else { continue }
                address = parsed
            case AF_INET6:
                var v6 = socketAddress.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { $0.pointee.sin6_addr }
                guard let parsed = IPAddress(bytes: withUnsafeBytes(of: &v6) { Array($0) }) else { continue }
                address = parsed
            default:
                continue
            }
            if !found.contains(address) { found.append(address) }
        }
        guard !found.isEmpty else { return .failure(Failure(description: "'\(name)' resolves to no IPv4 or IPv6 address")) }
        return .success(found)
    }
}

/// A continuation resumed once, by the lookup or by cancellation, whichever comes first.
private final class PendingLookup: Sendable {
    private enum State {
        case idle
        case armed(CheckedContinuation<[IPAddress], any Error>)
        case finished
    }

    private let state = Mutex(State.idle)

    /// False when cancellation came first; the continuation is then resumed here.
    func arm(_ continuation: CheckedContinuation<[IPAddress], any Error>) -> Bool {
        let armed = state.withLock { state -> Bool in
            guard case .idle = state else { return false }
            state = .armed(continuation)
            return true
        }
        if !armed { continuation.resume(throwing: CancellationError()) }
        return armed
    }

    func finish(_ result: Result<[IPAddress], any Error>) {
        let waiting = state.withLock { state -> CheckedContinuation<[IPAddress], any Error>? in
            switch state {
            case .armed(let continuation):
                state = .finished
                return continuation
            case .idle:
                state = .finished
                return nil
            case .finished:
                return nil
            }
        }
        waiting?.resume(with: result)
    }
}
