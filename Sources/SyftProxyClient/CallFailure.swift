import AsyncHTTPClient
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a failed HTTP exchange says about the replica and about the request.
struct CallFailure: Sendable, Equatable {
    /// The replica could not be reached or dropped the connection: evidence that it is down.
    /// A slow answer, a request that waited in the HTTP pool, or a cancelled call is not.
    var countsAgainstReplica: Bool
    /// The request never left this process, so any replica may be sent it, even a state
    /// change that is not safe to repeat.
    var nothingWasSent: Bool

    init(_ error: any Error) {
        switch error {
        case let error as HTTPClientError where error == .connectTimeout || error == .tlsHandshakeTimeout:
            self = .unreachable
        case let error as HTTPClientError where error == .getConnectionFromPoolTimeout:
            self = CallFailure(countsAgainstReplica: false, nothingWasSent: true)
        case let error as HTTPClientError where error == .remoteConnectionClosed:
            self = .dropped
        case is NIOConnectionError:
            self = .unreachable
        case let error as ChannelError:
            if case .connectTimeout = error { self = .unreachable } else { self = .other }
        case let error as IOError:
            switch error.errnoCode {
            case ECONNREFUSED, ENETUNREACH, EHOSTUNREACH: self = .unreachable
            case ECONNRESET, EPIPE: self = .dropped
            default: self = .other
            }
        default:
            self = .other
        }
    }

    init(countsAgainstReplica: Bool, nothingWasSent: Bool) {
        self.countsAgainstReplica = countsAgainstReplica
        self.nothingWasSent = nothingWasSent
    }

    static let unreachable = CallFailure(countsAgainstReplica: true, nothingWasSent: true)
    static let dropped = CallFailure(countsAgainstReplica: true, nothingWasSent: false)
    static let other = CallFailure(countsAgainstReplica: false, nothingWasSent: false)
}
