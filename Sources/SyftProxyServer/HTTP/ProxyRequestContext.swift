import Hummingbird
import NIOCore

/// Per-request values shared between middleware and routes.
public struct ProxyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The TCP peer: the caller itself, or the proxy in front of the replica.
    public let remoteAddress: SocketAddress?
    /// The caller's address as the proxy believes it: the TCP peer, or, when the peer is a
    /// trusted proxy (PROXY_TRUSTED_PROXIES), the right-most X-Forwarded-For address that is
    /// not itself trusted. Rate limits, logs and anything scoped per client use this one value.
    public var clientAddress: String
    /// The identity an API key maps to; nil when the API is open.
    public var identity: String?
    /// The request came as HEAD and runs as its GET (HeadResponder); the access log says HEAD.
    public var isHeadRequest = false
    /// Set only while an upgrade request is checked (ProxyServer.webSocketUpgrade): the
    /// connect route leaves what it validated here for the socket that follows.
    var upgrade: UpgradeSlot?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = ClientAddress.peer(source.channel.remoteAddress)
        self.identity = nil
    }
}
