import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SyftProxyCore
import SyftProxyServer
import Testing

/// Standing adversarial suite: every /rpc route under every odd spelling of its path, with
/// no key, an unknown key and another identity's key. None of them may reach a handler
/// (the answer is 400 from the path guard or 404 from the router) and nothing may change in
/// the store. The canonical spelling needs a key, and another identity's key is refused
/// wherever the route acts for someone.
@Suite struct PathSpellingTests {
    static let keys = "alice-key-0001=alice@example.com,bob-key-0002=bob@example.com,eve-key-0003=eve@example.com"
    static let alice = "alice-key-0001"
    static let eve = "eve-key-0003"

    struct Route: CustomStringConvertible {
        let method: HTTPRequest.Method
        /// After "/rpc/", without the query.
        let rest: String
        let query: String
        let body: JSONValue?
        /// The route acts for bob (or reads bob's record): eve's key is refused with 403.
        let actsForBob: Bool
        var description: String { "\(method) /rpc/\(rest)" }
    }

    static func routes(requestID id: String) -> [Route] {
        let bob = "destination=bob@example.com"
        return [
            Route(method: .post, rest: "send", query: "", body: sendBody(), actsForBob: false),
            Route(method: .post, rest: "broadcast", query: "", body: ["func_name": "f", "destinations": ["syft://bob@example.com/app_data/calculator/rpc/add"]], actsForBob: false),
            Route(method: .get, rest: "status/\(id)", query: "", body: nil, actsForBob: true),
            Route(method: .get, rest: "inbox/calculator", query: bob, body: nil, actsForBob: true),
            Route(method: .post, rest: "reply/\(id)", query: "", body: ["result": "forged"], actsForBob: true),
            Route(method: .post, rest: "release/\(id)", query: "", body: ["lease": "1"], actsForBob: true),
            Route(method: .get, rest: "schema/calculator", query: "", body: nil, actsForBob: false),
            Route(method: .put, rest: "schema/calculator", query: "", body: ["functions": [:]], actsForBob: false),
            Route(method: .put, rest: "apps/calculator/endpoint", query: "", body: ["destination": "bob@example.com", "url": "http://127.0.0.1:9/rpc"], actsForBob: true),
            Route(method: .put, rest: "apps/calculator/endpoint", query: bob, body: ["url": "http://127.0.0.1:9/rpc"], actsForBob: true),
            Route(method: .get, rest: "apps/calculator/endpoint", query: bob, body: nil, actsForBob: true),
            Route(method: .delete, rest: "apps/calculator/endpoint", query: bob, body: nil, actsForBob: true),
        ]
    }

    /// Spellings of "/rpc/<rest>" that a router, a proxy or a client might resolve to it.
    static func spellings(of rest: String) -> [String] {
        let first = rest.split(separator: "/").first.map(String.init) ?? rest
        let after = rest.dropFirst(first.count)
        return [
            "//rpc/\(rest)", "///rpc/\(rest)", "/rpc//\(rest)", "/rpc/\(rest)/", "/rpc/\(first)//\(after.dropFirst())",
            "/./rpc/\(rest)", "/rpc/./\(rest)", "/x/../rpc/\(rest)", "/rpc/../rpc/\(rest)",
            "/rpc/%2e%2e/rpc/\(rest)", "/rpc/%2E%2E/rpc/\(rest)", "/rpc/%2e/\(rest)", "/%2e/rpc/\(rest)",
            "/%2Frpc/\(rest)", "/%2frpc/\(rest)", "/rpc%2F\(rest)", "/rpc%2f\(rest)", "/rpc/\(first)%2F\(after.dropFirst())",
            "/rpc%5c\(rest)", "/rpc%5C\(rest)", "/rpc\\\(rest)", "/rpc/\(first)\\\(after.dropFirst())",
            "/RPC/\(rest)", "/Rpc/\(rest)", "/rpc/\(first.uppercased())\(after)", "/rPc/\(rest)",
        ]
    }

    @Test func noSpellingOfAnRPCPathReachesAHandler() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let store = environment.store
            let sent = try await client.post("/rpc/send", sendBody(destination: "bob@example.com"), key: Self.alice)
            let id = try #require(sent.json?["id"]?.stringValue)
            let before = try await store.stats()
            var tried = 0
            for route in Self.routes(requestID: id) {
                for path in Self.spellings(of: route.rest) {
                    let uri = route.query.isEmpty ? path : path + "?" + route.query
                    for key in [nil, "not-a-real-key-000", Self.eve, Self.alice] {
                        var headers: HTTPFields = [.contentType: "application/json"]
                        if let key { headers[HTTPField.Name("X-API-Key")!] = key }
                        let response = try await client.execute(
                            uri: uri, method: route.method, headers: headers,
                            body: route.body.map { ByteBuffer(bytes: $0.compactBytes) })
                        tried += 1
                        #expect([400, 404].contains(response.status.code), "\(route.method) \(uri) key=\(key ?? "none") answered \(response.status.code)")
                        if response.status == .badRequest {
                            #expect(response.json?["detail"]?.stringValue?.contains("is refused") == true, "\(uri)")
                        }
                    }
                }
            }
            #expect(tried > 800)
            // Nothing was created, leased, answered, registered or published.
            let after = try await store.stats()
            #expect(after.queuedForPull == before.queuedForPull && after.queuedForPull == 1)
            #expect(after.queuedForPush == 0 && after.leased == 0)
            #expect(try await store.record(id: id)?.state == .pending)
            #expect(try await store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == nil)
            #expect(try await store.schema(appName: "calculator") == nil)
        }
    }

    @Test func theCanonicalSpellingNeedsAKeyAndTheRightIdentity() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let id = try #require(try await client.post("/rpc/send", sendBody(destination: "bob@example.com"), key: Self.alice).json?["id"]?.stringValue)
            for route in Self.routes(requestID: id) {
                let uri = "/rpc/\(route.rest)" + (route.query.isEmpty ? "" : "?" + route.query)
                let body = route.body.map { ByteBuffer(bytes: $0.compactBytes) }
                for key in [nil, "not-a-real-key-000"] {
                    var headers: HTTPFields = [.contentType: "application/json"]
                    if let key { headers[HTTPField.Name("X-API-Key")!] = key }
                    let response = try await client.execute(uri: uri, method: route.method, headers: headers, body: body)
                    #expect(response.status == .unauthorized, "\(route) key=\(key ?? "none")")
                    #expect(response.headers[HTTPField.Name("WWW-Authenticate")!] == "ApiKey")
                }
                if route.actsForBob {
                    let response = try await client.execute(
                        uri: uri, method: route.method, headers: [.contentType: "application/json", HTTPField.Name("X-API-Key")!: Self.eve], body: body)
                    #expect(response.status == .forbidden, "\(route) with eve's key answered \(response.status.code)")
                }
            }
            let stats = try await environment.store.stats()
            #expect(stats.queuedForPull == 1 && stats.leased == 0)
            #expect(try await environment.store.record(id: id)?.state == .pending)
            #expect(try await environment.store.pushEndpoint(appName: "calculator", destination: "bob@example.com") == nil)
        }
    }

    /// Whatever is added to the route table later: a route is either one of the open
    /// operations routes, the dashboard's static shell (which shows nothing without an admin
    /// key), or needs a key: an API key under /rpc, an admin key under /admin. The table is
    /// read from the router itself.
    @Test func everyRegisteredRouteOutsideTheOpenOnesNeedsAKey() async throws {
        let open: Set<String> = [
            "/", "/health", "/ready", "/metrics", "/openapi.json", "/dashboard", "/dashboard/dashboard.js", "/dashboard/dashboard.css",
        ]
        try await withProxy({
            $0.apiKeys = Self.keys
            $0.adminKeys = "admin-key-for-spelling-tests=ops@example.com"
        }) { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let routes = ProxyServer.makeRouter(environment: environment).routes
            #expect(routes.count >= 15)
            var guarded = 0
            for route in routes {
                let path = "/" + route.path.description.split(separator: "/").map { $0.hasPrefix(":") || $0.hasPrefix("{") ? "x" : String($0) }.joined(separator: "/")
                if open.contains(path) {
                    #expect(route.method == .get, "\(route)")
                    continue
                }
                #expect(path.hasPrefix("/rpc/") || path.hasPrefix("/admin/"), "\(route) is neither an open route nor under /rpc or /admin")
                let response = try await client.execute(uri: path, method: route.method, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                #expect(response.status == .unauthorized, "\(route.method) \(path) answered \(response.status.code) without a key")
                guarded += 1
            }
            #expect(guarded >= 10)
        }
    }

    /// The documented operations too (the fuzz pass relies on the same list).
    @Test func everyDocumentedRPCOperationNeedsAKey() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let paths = try #require(try await client.get("/openapi.json").json?["paths"]?.objectValue)
            var checked = 0
            for member in paths.members where member.key.hasPrefix("/rpc/") {
                let path = "/" + member.key.split(separator: "/").map { $0.hasPrefix("{") ? "x" : String($0) }.joined(separator: "/")
                for method in member.value.objectValue?.members.map(\.key) ?? [] {
                    guard let verb = HTTPRequest.Method(method.uppercased()), ["GET", "POST", "PUT", "DELETE"].contains(verb.rawValue) else { continue }
                    let response = try await client.execute(uri: path, method: verb, headers: [.contentType: "application/json"], body: ByteBuffer(string: "{}"))
                    #expect(response.status == .unauthorized, "\(verb) \(member.key) answered \(response.status.code) without a key")
                    checked += 1
                }
            }
            #expect(checked >= 10)
        }
    }

    @Test(arguments: [
        ("/rpc/send", nil), ("/", nil), ("/rpc/status/a%20b", nil), ("/rpc/schema/my%2Eapp", nil), ("/rpc/status/...", nil),
        ("//rpc/send", "empty segment"), ("/rpc/send/", "empty segment"), ("/rpc/./send", "'.' segment"),
        ("/x/../rpc/send", "'..' segment"), ("/rpc/%2E%2e/send", "'..' segment"), ("/rpc%2fsend", "encoded '/'"),
        ("/rpc%5Csend", "encoded '\\'"), ("/rpc\\send", "backslash"), ("rpc/send", "start with '/'"),
    ] as [(String, String?)])
    func pathGuardNamesWhyAPathIsRefused(path: String, reason: String?) {
        let problem = PathGuard.problem(in: path)
        if let reason {
            #expect(problem?.contains(reason) == true, "\(path): \(problem ?? "accepted")")
        } else {
            #expect(problem == nil, "\(path): \(problem ?? "")")
        }
    }
}
