import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SyftProxyCore

/// What one HTTP call to a replica answered.
public struct ProxyAnswer: Sendable {
    public let status: Int
    /// The body parsed as JSON, when it is JSON.
    public let json: JSONValue?
    public let text: String
    /// The replica that answered (X-Proxy-Replica).
    public let replica: String?
    /// Seconds the replica asked the caller to wait (`Retry-After` of a 429 or 503).
    public let retryAfter: Double?
}

/// One HTTP call to one replica, with the API key and a JSON body; the load-balancing client
/// and the operator commands both go through it.
public enum ProxyExchange {
    public static func perform(
        _ method: HTTPMethod, _ url: String, body: JSONValue? = nil, headers: [(String, String)] = [],
        apiKey: String?, timeout: Double, client: HTTPClient
    ) async throws -> ProxyAnswer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let apiKey { request.headers.add(name: "X-API-Key", value: apiKey) }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.compactBytes))
        }
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
        return ProxyAnswer(status: Int(response.status.code), json: try? JSONParser.parse(bytes),
                           text: String(decoding: bytes, as: UTF8.self), replica: response.headers.first(name: "X-Proxy-Replica"),
                           retryAfter: response.headers.first(name: "Retry-After").flatMap(Self.delaySeconds))
    }

    /// The delay-seconds form of Retry-After; the HTTP-date form is not used by the proxy.
    static func delaySeconds(_ text: String) -> Double? {
        guard let seconds = Double(text.filter { $0 != " " }), seconds.isFinite, seconds >= 0 else { return nil }
        return seconds
    }
}
