import HTTPTypes
import CompressNIO
import HummingbirdTesting
import NIOCore
import Testing
import SyftProxyCore
import SyftProxyServer

@Suite struct CompressionRouteTests {
    @Test func largeAnswersAreGzippedWhenTheClientAcceptsIt() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let text = String(repeating: "syft ", count: 2000)
            _ = try await client.post("/rpc/send", sendBody(params: ["text": .string(text)]))
            let response = try await client.execute(uri: "/rpc/inbox/calculator?destination=bob@example.com", method: .get, headers: [.acceptEncoding: "br;q=1, gzip;q=0.8"])
            #expect(response.headers[.contentEncoding] == "gzip")
            #expect(response.headers[.vary] == "Accept-Encoding")
            var body = response.body
            #expect(body.readableBytes < 2000)
            let plain = try body.decompress(with: .gzip())
            let json = try JSONParser.parse(plain.getBytes(at: plain.readerIndex, length: plain.readableBytes) ?? [])
            #expect(json["requests"]?.arrayValue?.first?["params"]?["text"]?.stringValue == text)
        }
    }

    @Test func smallOrUnacceptedAnswersStayPlain() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let small = try await client.execute(uri: "/health", method: .get, headers: [.acceptEncoding: "gzip"])
            #expect(small.headers[.contentEncoding] == nil)
            _ = try await client.post("/rpc/send", sendBody(params: ["text": .string(String(repeating: "x", count: 5000))]))
            let refused = try await client.execute(uri: "/rpc/inbox/calculator?destination=bob@example.com", method: .get, headers: [.acceptEncoding: "gzip;q=0"])
            #expect(refused.headers[.contentEncoding] == nil)
            #expect(refused.json?["requests"]?.arrayValue?.count == 1)
        }
    }

    /// Errors are answered by the outermost layer, outside the compression middleware; a
    /// large one (a 422 listing many issues) is still gzipped for a client that accepts it.
    @Test func largeErrorAnswersAreGzippedToo() async throws {
        try await withProxy { (client: any TestClientProtocol, _: ProxyEnvironment) async throws in
            let destinations = (0..<60).map { JSONValue.string("not a syft url \($0)") }
            let response = try await client.execute(
                uri: "/rpc/broadcast", method: .post, headers: [.contentType: "application/json", .acceptEncoding: "gzip"],
                body: ByteBuffer(bytes: JSONValue.object(["func_name": "f", "destinations": .array(destinations)]).compactBytes))
            #expect(response.status == .unprocessableContent)
            #expect(response.headers[.contentEncoding] == "gzip")
            #expect(response.headers[HTTPField.Name("X-Proxy-Replica")!] == "test-replica")
            var body = response.body
            let plain = try body.decompress(with: .gzip())
            #expect(plain.readableBytes > 1024)
        }
    }
}
