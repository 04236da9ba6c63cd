import AsyncHTTPClient
import HummingbirdCore
import Hummingbird
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SyftProxyCore

/// Assembles the HTTP API and the replica's background services around a store.
public enum ProxyServer {
    /// The whole route table. Router-level middleware runs for every request, matched or not
    /// (outermost first): the edge (client address, error answers, 405, replica header,
    /// metrics, access log), then compression, then the refusal of non-canonical paths.
    /// Everything under /rpc is registered on one route group whose middleware, API keys then
    /// the in-flight cap, runs after the router matched the route, so a route added to the
    /// group later is guarded by default and no spelling of a path can reach it around the
    /// check. Only the operations routes (/, /health, /ready, /metrics, /openapi.json) are
    /// registered outside the group.
    public static func makeRouter(environment: ProxyEnvironment) -> Router<ProxyRequestContext> {
        makeRoutes(environment: environment).router
    }

    /// The router with the methods each of its paths takes, which HEAD and 405 are answered from.
    static func makeRoutes(environment: ProxyEnvironment) -> (router: Router<ProxyRequestContext>, methods: RouteMethods) {
        // An inbox read leases what it returns: a HEAD there would lease a batch nobody receives.
        let methods = RouteMethods(withoutHead: [RouterPath("/rpc/" + DeliveryRoutes.inboxPath)])
        let router = Router(context: ProxyRequestContext.self)
        router.add(middleware: EdgeMiddleware(environment: environment, routes: methods))
        router.add(middleware: CompressionMiddleware())
        router.add(middleware: PathGuardMiddleware())
        OperationsRoutes(environment: environment).register(on: router)

        let rpc = router.group("rpc")
            .add(middleware: AuthMiddleware(keys: environment.apiKeys))
            .add(middleware: environment.inFlight)
        SendRoutes(environment: environment).register(on: rpc)
        StatusRoutes(environment: environment).register(on: rpc)
        DeliveryRoutes(environment: environment).register(on: rpc)
        AppRoutes(environment: environment).register(on: rpc)
        ConnectRoute(environment: environment).register(on: rpc)

        // The operator console: its own group and key check, guarded the same way.
        let admin = router.group("admin")
            .add(middleware: AdminAuthMiddleware(adminKeys: environment.adminKeys, apiKeys: environment.apiKeys))
        AdminRequestRoutes(environment: environment).register(on: admin)
        AdminOperationsRoutes(environment: environment).register(on: admin)
        DashboardRoutes(environment: environment).register(on: router)
        methods.install(router.routes)
        return (router, methods)
    }

    /// The router's responder with HEAD answered wherever GET is (see HeadResponder).
    static func makeResponder(environment: ProxyEnvironment) -> some HTTPResponder<ProxyRequestContext> {
        let (router, methods) = makeRoutes(environment: environment)
        return HeadResponder(base: router.buildResponder(), routes: methods)
    }

    /// Header limits of the HTTP/1 decoder: a request over them is answered 400 and its
    /// connection closed before any route runs. Real callers send a few hundred bytes.
    static let headerLimits = HTTP1Channel.Configuration.DecoderConfiguration(
        maxHeaderFieldSize: 16 * 1024, maxHeaderListSize: 64 * 1024, maxHeaderFieldCount: 200)

    /// HTTP/1 with PROXY_IDLE_TIMEOUT (a connection without a complete request head, idle or
    /// trickling its headers, is closed) and PROXY_BODY_TIMEOUT (see BodyDeadlineHandler).
    /// GET /rpc/connect upgrades to a WebSocket (ConnectRoute); every other request is HTTP.
    static func server(environment: ProxyEnvironment) -> HTTPServerBuilder {
        let configuration = environment.configuration
        let bodyTimeout = configuration.bodyTimeout
        let http1 = HTTP1Channel.Configuration(
            additionalChannelHandlers: [BodyDeadlineHandler(seconds: bodyTimeout)],
            idleTimeout: .nanoseconds(Int64(configuration.idleTimeout * 1_000_000_000)),
            httpDecoderConfiguration: headerLimits)
        let upgrade = ConnectRoute.upgrade(environment: environment)
        return HTTPServerBuilder { responder in
            ProxyHTTPChannel(responder: responder, http1: http1, maxFrameSize: ConnectRoute.frameBytes(configuration), upgrade: upgrade)
        }
    }

    /// The application with its background services (sweeper, push forwarder). The caller
    /// owns `httpClient` and shuts it down after the application returns. `storeServices`
    /// (connections, subscriptions) start first and, on graceful shutdown, stop last, after
    /// the server and the forwarder no longer need the store.
    public static func makeApplication(
        environment: ProxyEnvironment, httpClient: HTTPClient, eventLoopGroup: any EventLoopGroup,
        logger: Logger, storeServices: [any Service] = [],
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) -> some ApplicationProtocol {
        let configuration = environment.configuration
        let address = BoundAddress("\(configuration.host):\(configuration.port)")
        var app = Application(
            responder: makeResponder(environment: environment),
            server: server(environment: environment),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "syft-proxy"),
            onServerRunning: { channel in
                if let port = channel.localAddress?.port { address.set("\(configuration.host):\(port)") }
                await onServerRunning(channel)
            },
            eventLoopGroupProvider: .shared(eventLoopGroup),
            logger: logger)
        app.addServices(storeServices)
        // Services stop in reverse order: the forwarder stops taking deliveries before the
        // SyftBox transport hands its waiting requests back.
        if let syftBox = environment.syftBox { app.addServices(SyftBoxDelivery(transport: syftBox)) }
        app.addServices(
            Sweeper(store: environment.store, interval: configuration.sweepInterval, metrics: environment.metrics, logger: logger),
            PushForwarder(store: environment.store, client: httpClient, configuration: configuration, metrics: environment.metrics,
                          logger: logger, syftBox: environment.syftBox, health: environment.endpointHealth),
            HeartbeatService(environment: environment, address: address, logger: logger),
            EndpointHealthService(recorder: environment.endpointHealth, store: environment.store, logger: logger))
        return app
    }

    /// Runs a replica until SIGTERM or SIGINT, then drains: the server stops accepting, open
    /// requests finish, background services stop, and the HTTP client closes.
    public static func run(
        environment: ProxyEnvironment, logger: Logger, storeServices: [any Service] = [],
        onServerRunning: @escaping @Sendable (any Channel) async -> Void = { _ in }
    ) async throws {
        // With the default worker count, HTTP shares the process-wide event loops that the Redis
        // connections run on: one thread per core rather than two, and fewer thread hand-offs.
        let shared = environment.configuration.workers == System.coreCount
        let group = shared ? MultiThreadedEventLoopGroup.singleton : MultiThreadedEventLoopGroup(numberOfThreads: environment.configuration.workers)
        let httpClient = HTTPClient(eventLoopGroupProvider: .shared(group), configuration: .init(redirectConfiguration: .disallow))
        do {
            let app = makeApplication(
                environment: environment, httpClient: httpClient, eventLoopGroup: group, logger: logger,
                storeServices: storeServices, onServerRunning: onServerRunning)
            try await app.runService()
        } catch {
            try? await httpClient.shutdown()
            if !shared { try? await group.shutdownGracefully() }
            throw error
        }
        try await httpClient.shutdown()
        if !shared { try await group.shutdownGracefully() }
    }
}
