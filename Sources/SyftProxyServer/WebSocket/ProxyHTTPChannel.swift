import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import NIOHTTPTypesHTTP1
import NIOWebSocket

/// HTTP/1 with WebSocket upgrades. Hummingbird's own upgrade channel answers every refused
/// upgrade with an empty 400; here a refused upgrade is served by the HTTP router like any
/// other request, so the caller learns why (401, 403, 422, 426) in the body the rest of the
/// API uses.
struct ProxyHTTPChannel: ServerChildChannel, HTTPChannelHandler {
    /// Runs an upgraded connection until it closes.
    typealias SocketRun = @Sendable (NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, Logger) async -> Void
    /// Decides an upgrade from the request head: the headers of the 101 answer and the socket
    /// to run, or nil to serve the request as plain HTTP.
    typealias Upgrade = @Sendable (HTTPRequest, any Channel, Logger) async -> (headers: HTTPHeaders, run: SocketRun)?

    enum Negotiated: Sendable {
        case webSocket(NIOAsyncChannel<WebSocketFrame, WebSocketFrame>, SocketRun, Logger)
        case http(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>)
        /// An upgrade request that was refused. NIO's upgrade handler has consumed its head,
        /// so it is answered here, once, and the connection closed.
        case refused(NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>, HTTPRequest)
    }

    struct Value: ServerChildChannelValue {
        let negotiated: EventLoopFuture<Negotiated>
        let channel: any Channel
    }

    let responder: HTTPChannelHandler.Responder
    let http1: HTTP1Channel.Configuration
    let maxFrameSize: Int
    let upgrade: Upgrade

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            // Until a request head is complete nothing below times out a silent or trickling
            // client (HTTPConnectionStateHandler only joins after the upgrade decision).
            let headDeadline = HeadDeadlineHandler(timeout: http1.idleTimeout)
            try channel.pipeline.syncOperations.addHandler(headDeadline)
            // The upgrade is decided in one closure and the socket built in another; the run
            // the first one chose waits here for the second.
            let chosen = NIOLockedValueBox<SocketRun?>(nil)
            let refused = NIOLockedValueBox<HTTPRequest?>(nil)
            let upgrader = NIOTypedWebSocketServerUpgrader<Negotiated>(
                maxFrameSize: maxFrameSize,
                shouldUpgrade: { channel, head in
                    let promise = channel.eventLoop.makePromise(of: HTTPHeaders?.self)
                    promise.completeWithTask {
                        guard let request = try? HTTPRequest(head, secure: false, splitCookie: false) else { return nil }
                        guard let accepted = await upgrade(request, channel, logger) else {
                            refused.withLockedValue { $0 = request }
                            return nil
                        }
                        chosen.withLockedValue { $0 = accepted.run }
                        return accepted.headers
                    }
                    return promise.futureResult
                },
                upgradePipelineHandler: { channel, _ in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.removeHandler(headDeadline).whenComplete { _ in }
                        let socket = try NIOAsyncChannel<WebSocketFrame, WebSocketFrame>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        guard let run = chosen.withLockedValue({ $0 }) else { throw ChannelError.inappropriateOperationForState }
                        return .webSocket(socket, run, logger)
                    }
                })
            let upgradeConfiguration = NIOTypedHTTPServerUpgradeConfiguration(
                upgraders: [upgrader],
                notUpgradingCompletionHandler: { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.removeHandler(headDeadline).whenComplete { _ in }
                        try channel.pipeline.syncOperations.addHandler(HTTP1ToHTTPServerCodec(secure: false))
                        try channel.pipeline.syncOperations.addHandlers(http1.additionalChannelHandlers())
                        try channel.pipeline.syncOperations.addHandler(
                            HTTPConnectionStateHandler(idleTimeout: http1.idleTimeout.map { .init($0) }, logger: logger))
                        let http = try NIOAsyncChannel<HTTPRequestPart, HTTPResponsePart>(
                            wrappingChannelSynchronously: channel, configuration: .init(isOutboundHalfClosureEnabled: true))
                        if let request = refused.withLockedValue({ $0 }) { return .refused(http, request) }
                        return .http(http)
                    }
                })
            var configuration = NIOUpgradableHTTPServerPipelineConfiguration<Negotiated>(upgradeConfiguration: upgradeConfiguration)
            configuration.enablePipelining = false
            // A head the decoder refuses (over the header limits) arrives before any upgrade
            // decision, where nothing else could answer it: NIO's handler answers 400 and closes.
            configuration.enableErrorHandling = true
            configuration.enableResponseHeaderValidation = false
            configuration.decoderConfiguration.maxHeaderFieldSize = http1.httpDecoder.maxHeaderFieldSize
            configuration.decoderConfiguration.maxHeaderListSize = http1.httpDecoder.maxHeaderListSize
            configuration.decoderConfiguration.maxHeaderFieldCount = http1.httpDecoder.maxHeaderFieldCount
            let negotiated = try channel.pipeline.syncOperations.configureUpgradableHTTPServerPipeline(configuration: configuration)
            return Value(negotiated: negotiated, channel: channel)
        }
    }

    func handle(value: Value, logger: Logger) async {
        do {
            switch try await value.negotiated.get() {
            case .http(let http):
                await handleHTTP(asyncChannel: http, logger: logger)
            case .refused(let http, let head):
                let request = Request(head: head, body: .init(buffer: ByteBuffer()))
                try await http.executeThenClose { _, outbound in
                    try await responder(request, ResponseWriter(outbound: outbound), http.channel)
                }
            case .webSocket(let socket, let run, let logger):
                await run(socket, logger)
            }
        } catch {
            logger.debug("connection closed before its first request was read", metadata: ["error": "\(error)"])
        }
    }
}
