import AsyncHTTPClient
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import NIOPosix
import SyftProxyCore
import SyftProxyMemoryStore
import SyftProxyServer

/// Runs the full router (middleware, routes, sweeper, push forwarder) on an embedded store
/// without a socket, and hands the test a client for it. `storeClock` stands in for a shared
/// store's clock, which may disagree with the replica's.
func withProxy<T: Sendable>(
    _ configure: (inout ProxyConfiguration) -> Void = { _ in },
    storeClock: @escaping @Sendable () -> Double = Timestamp.now,
    _ body: @Sendable (any TestClientProtocol, ProxyEnvironment) async throws -> T
) async throws -> T {
    var configuration = ProxyConfiguration()
    configuration.host = "127.0.0.1"
    configuration.port = 0
    configuration.sweepInterval = 0.05
    configure(&configuration)
    let store = MemoryStore(settings: configuration.storeSettings, clock: storeClock)
    let environment = ProxyEnvironment(
        store: store, configuration: configuration, replicaID: "test-replica", apiKeys: try configuration.loadAPIKeys(),
        adminKeys: try configuration.loadAdminKeys())
    var logger = Logger(label: "route-tests")
    logger.logLevel = .warning
    let httpClient = HTTPClient(eventLoopGroupProvider: .singleton)
    let app = ProxyServer.makeApplication(environment: environment, httpClient: httpClient, eventLoopGroup: MultiThreadedEventLoopGroup.singleton, logger: logger)
    do {
        let value = try await app.test(.router) { client in try await body(client, environment) }
        try await httpClient.shutdown()
        return value
    } catch {
        try? await httpClient.shutdown()
        throw error
    }
}

extension TestResponse {
    var json: JSONValue? {
        let bytes = body.getBytes(at: body.readerIndex, length: body.readableBytes) ?? []
        return try? JSONParser.parse(bytes)
    }
}

extension TestClientProtocol {
    func post(_ uri: String, _ body: JSONValue, key: String) async throws -> TestResponse {
        try await post(uri, body, headers: [.init("X-API-Key")!: key])
    }

    func get(_ uri: String, key: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get, headers: [.init("X-API-Key")!: key])
    }

    func put(_ uri: String, _ body: JSONValue, key: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .put, headers: [.contentType: "application/json", .init("X-API-Key")!: key], body: ByteBuffer(bytes: body.compactBytes))
    }

    func post(_ uri: String, _ body: JSONValue, headers: HTTPFields = [:]) async throws -> TestResponse {
        var fields = headers
        fields[.contentType] = "application/json"
        return try await execute(uri: uri, method: .post, headers: fields, body: ByteBuffer(bytes: body.compactBytes))
    }

    func put(_ uri: String, _ body: JSONValue) async throws -> TestResponse {
        try await execute(uri: uri, method: .put, headers: [.contentType: "application/json"], body: ByteBuffer(bytes: body.compactBytes))
    }

    func raw(_ uri: String, method: HTTPRequest.Method = .post, body: String) async throws -> TestResponse {
        try await execute(uri: uri, method: method, headers: [.contentType: "application/json"], body: ByteBuffer(string: body))
    }

    func get(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .get)
    }

    func delete(_ uri: String) async throws -> TestResponse {
        try await execute(uri: uri, method: .delete)
    }
}

func sendBody(app: String = "calculator", function: String = "add", destination: String = "bob@example.com",
              params: JSONValue = ["a": 5, "b": 3], blocking: Bool = false, timeout: Double? = nil) -> JSONValue {
    var body: JSONObject = ["app_name": .string(app), "func_name": .string(function), "destination": .string(destination), "params": params, "blocking": .bool(blocking)]
    if let timeout { body["timeout"] = .double(timeout) }
    return .object(body)
}

/// A pull-mode App B inside the test: leases from the inbox and answers with `answer`.
func respondOnce(_ client: any TestClientProtocol, app: String = "calculator", destination: String = "bob@example.com",
                 answer: @Sendable (JSONValue) -> JSONValue) async throws -> Int {
    let inbox = try await client.get("/rpc/inbox/\(app)?destination=\(destination)&wait=5&max=1")
    guard let item = inbox.json?["requests"]?.arrayValue?.first, let id = item["id"]?.stringValue else { return 0 }
    let reply = try await client.post("/rpc/reply/\(id)", answer(item))
    return Int(reply.status.code)
}
