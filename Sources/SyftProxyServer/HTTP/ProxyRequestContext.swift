import Hummingbird
import NIOCore

/// Per-request values shared between middleware and routes.
public struct ProxyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The caller's address, for logs and for rate limits when no API keys are configured.
    public let remoteAddress: SocketAddress?
    /// The identity an API key maps to; nil when the API is open.
    public var identity: String?

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.identity = nil
    }
}
