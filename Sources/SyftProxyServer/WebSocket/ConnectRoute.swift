import HTTPTypes
import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import NIOHTTP1
import ServiceLifecycle
import Synchronization
import SyftProxyCore
@_spi(WSInternal) import WSCore

/// GET /rpc/connect/{app_name}: WebSocket delivery. The upgrade is checked by a router of its
/// own that carries the /rpc group's middleware (path guard, API keys, in-flight cap), so a
/// socket is authorised exactly like the inbox. The cap counts the check only: a socket is
/// long-lived and bounded by its `concurrency`, not by PROXY_MAX_REQUESTS. A refused upgrade,
/// or a plain GET, reaches this route on the HTTP router instead, which answers why.
struct ConnectRoute: Sendable {
    let environment: ProxyEnvironment
    /// Under /rpc.
    static let path = "connect/:app_name"

    func register(on rpc: RouterGroup<ProxyRequestContext>) {
        rpc.get(RouterPath(Self.path)) { request, context -> Response in
            _ = try ConnectParameters.parse(request, context: context)
            throw APIError(.upgradeRequired, "GET /rpc/connect/{app_name} serves WebSockets only: send it as an upgrade (Connection: Upgrade, Upgrade: websocket), or poll GET /rpc/inbox/{app_name}", headers: [.upgrade: "websocket", .connection: "Upgrade"])
        }
    }

    /// The decision for an upgrade request: a socket session when the connect route accepts
    /// it, nil (serve it as HTTP) otherwise.
    static func upgrade(environment: ProxyEnvironment) -> ProxyHTTPChannel.Upgrade {
        let checker = checkRouter(environment: environment).buildResponder()
        let configuration = environment.configuration
        let frameLimit = frameBytes(configuration)
        return { head, channel, logger in
            let request = Request(head: head, body: .init(buffer: ByteBuffer()))
            var context = ProxyRequestContext(source: .init(channel: channel, logger: logger))
            let slot = UpgradeSlot()
            context.upgrade = slot
            guard let response = try? await checker.respond(to: request, context: context), response.status == .ok,
                  let parameters = slot.parameters else { return nil }
            let session = SocketSession(
                store: environment.store, parameters: parameters, metrics: environment.metrics, logger: logger,
                leaseSeconds: configuration.leaseSeconds, maxMessageBytes: configuration.maxBodyBytes,
                localConsumers: environment.localConsumers)
            let headers = HTTPHeaders([(HTTPField.Name.replicaID.rawName, environment.replicaID)])
            return (headers, { socket, logger in
                // WSCore answers graceful shutdown itself with an immediate close frame; run
                // outside the shutdown's reach (cancellation is passed on by hand), the
                // session hands its items back first and then closes with 1001.
                await withGracefulShutdownHandler {
                    let run = Task.detached {
                        do {
                            _ = try await WebSocketHandler.handle(
                                type: .server,
                                configuration: .init(
                                    extensions: [], autoPing: .enabled(timePeriod: .seconds(WebSocketLimits.pingSeconds)),
                                    validateUTF8: true, maxFrameSize: frameLimit),
                                asyncChannel: socket, context: SocketContext(logger: logger),
                                handler: { inbound, outbound, _ in await session.run(inbound: inbound, outbound: outbound) })
                        } catch {
                            logger.debug("websocket ended with an error", metadata: ["error": "\(error)"])
                        }
                    }
                    await withTaskCancellationHandler { await run.value } onCancel: { run.cancel() }
                } onGracefulShutdown: {
                    session.stop()
                }
            })
        }
    }

    /// A frame carries one item or one answer: at most PROXY_MAX_BODY_BYTES, as a reply body.
    static func frameBytes(_ configuration: ProxyConfiguration) -> Int {
        configuration.maxBodyBytes
    }

    private static func checkRouter(environment: ProxyEnvironment) -> Router<ProxyRequestContext> {
        let router = Router(context: ProxyRequestContext.self)
        router.add(middleware: PathGuardMiddleware())
        let rpc = router.group("rpc")
            .add(middleware: AuthMiddleware(keys: environment.apiKeys))
            .add(middleware: environment.inFlight)
        rpc.get(RouterPath(path)) { request, context -> Response in
            context.upgrade?.accept(try ConnectParameters.parse(request, context: context))
            return Response(status: .ok)
        }
        return router
    }
}

/// What the connect route validated, handed from the upgrade check to the socket.
final class UpgradeSlot: Sendable {
    private let value = Mutex<ConnectParameters?>(nil)
    func accept(_ parameters: ConnectParameters) { value.withLock { $0 = parameters } }
    var parameters: ConnectParameters? { value.withLock { $0 } }
}

struct SocketContext: WebSocketContext {
    let logger: Logger
}
