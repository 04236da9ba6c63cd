import HTTPTypes
import Hummingbird
import HummingbirdTesting
import SyftProxyCore
import SyftProxyServer
import Testing

/// HTTP as clients expect it: a known path asked with the wrong method is 405 with the
/// methods it takes, and HEAD answers wherever GET does, without the body. Neither adds a
/// route to the table the OpenAPI document describes.
@Suite struct MethodRouteTests {
    static let keys = "alice-key-0001=alice@example.com,bob-key-0002=bob@example.com"
    static let bob = "bob-key-0002"

    static func allow(_ response: TestResponse) -> Set<String> {
        Set((response.headers[.allow] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
    }

    @Test func aWrongMethodOnAKnownPathIs405WithAllow() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let delete = try await client.execute(uri: "/rpc/send", method: .delete)
            #expect(delete.status == .methodNotAllowed)
            #expect(Self.allow(delete) == ["POST"])
            #expect(delete.json?["detail"]?.stringValue?.contains("POST") == true)
            #expect(delete.headers[HTTPField.Name("X-Proxy-Replica")!] == "test-replica")

            let post = try await client.post("/rpc/status/some-id", ["x": 1])
            #expect(post.status == .methodNotAllowed)
            #expect(Self.allow(post) == ["GET", "HEAD"])

            let endpoint = try await client.execute(uri: "/rpc/apps/calculator/endpoint?destination=bob@example.com", method: .post)
            #expect(endpoint.status == .methodNotAllowed)
            #expect(Self.allow(endpoint) == ["GET", "HEAD", "PUT", "DELETE"])

            let health = try await client.execute(uri: "/health", method: .post)
            #expect(health.status == .methodNotAllowed)
            #expect(Self.allow(health) == ["GET", "HEAD"])

            #expect(try await client.execute(uri: "/rpc/nowhere", method: .delete).status == .notFound)
            #expect(try await client.get("/rpc/nowhere").status == .notFound)
        }
    }

    /// On a keyed server the 405 comes before the key check: the request matched no route, so
    /// no route group's middleware runs, and the methods a path takes are public in /openapi.json.
    @Test func aWrongMethodIs405WithOrWithoutAKey() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let anonymous = try await client.execute(uri: "/rpc/send", method: .delete)
            #expect(anonymous.status == .methodNotAllowed)
            #expect(Self.allow(anonymous) == ["POST"])
            let keyed = try await client.execute(uri: "/rpc/status/x", method: .post, headers: [HTTPField.Name("X-API-Key")!: Self.bob])
            #expect(keyed.status == .methodNotAllowed)
            // The right method still needs the key.
            #expect(try await client.execute(uri: "/rpc/status/x", method: .get).status == .unauthorized)
        }
    }

    @Test func headAnswersLikeGetWithoutTheBody() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let sent = try await client.post("/rpc/send", sendBody())
            let id = try #require(sent.json?["id"]?.stringValue)
            for uri in ["/health", "/openapi.json", "/rpc/status/\(id)", "/rpc/status/unknown-id", "/rpc/schema/calculator"] {
                let get = try await client.get(uri)
                let head = try await client.execute(uri: uri, method: .head)
                #expect(head.status == get.status, "HEAD \(uri)")
                #expect(head.headers[.contentType] == get.headers[.contentType], "HEAD \(uri)")
                #expect(head.headers[HTTPField.Name("X-Proxy-Replica")!] == "test-replica", "HEAD \(uri)")
                #expect(head.body.readableBytes == 0, "HEAD \(uri) has a body")
                #expect(get.body.readableBytes > 0, "GET \(uri)")
            }
            let onPost = try await client.execute(uri: "/rpc/send", method: .head)
            #expect(onPost.status == .methodNotAllowed)
            #expect(Self.allow(onPost) == ["POST"])
        }
    }

    /// An inbox read leases what it returns; a HEAD would lease a batch nobody receives.
    @Test func headDoesNotLeaseFromTheInbox() async throws {
        try await withProxy { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            _ = try await client.post("/rpc/send", sendBody())
            let head = try await client.execute(uri: "/rpc/inbox/calculator?destination=bob@example.com", method: .head)
            #expect(head.status == .methodNotAllowed)
            #expect(Self.allow(head) == ["GET"])
            #expect(try await environment.store.stats().leased == 0)
        }
    }

    @Test func headNeedsTheKeyWhereGetDoes() async throws {
        try await withProxy({ $0.apiKeys = Self.keys }) { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let anonymous = try await client.execute(uri: "/rpc/schema/calculator", method: .head)
            #expect(anonymous.status == .unauthorized)
            #expect(anonymous.body.readableBytes == 0)
            let keyed = try await client.execute(uri: "/rpc/schema/calculator", method: .head, headers: [HTTPField.Name("X-API-Key")!: Self.bob])
            #expect(keyed.status == (try await client.get("/rpc/schema/calculator", key: Self.bob)).status)
            #expect(keyed.body.readableBytes == 0)
        }
    }

    /// HEAD and 405 are answered around the route table, not by routes in it.
    @Test func theRouteTableHasNoHeadRoutes() async throws {
        try await withProxy { (_: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let routes = ProxyServer.makeRouter(environment: environment).routes
            #expect(!routes.isEmpty)
            #expect(!routes.contains { $0.method == .head })
        }
    }
}
