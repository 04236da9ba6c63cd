import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SyftProxyCore

/// Just enough HTTP client for the end-to-end tests; only ever talks to 127.0.0.1.
public struct HTTP: Sendable {
    public let baseURL: String
    private let client: HTTPClient
    public init(baseURL: String, client: HTTPClient = .shared) {
        self.baseURL = baseURL
        self.client = client
    }

    /// For tests that hold many requests open at once (long polls beside blocking calls): the
    /// shared client allows 8 connections per host, and the ninth call would wait for a free one.
    public static let manyConnections = HTTPClient(
        eventLoopGroupProvider: .singleton,
        configuration: HTTPClient.Configuration(connectionPool: .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: 128)))

    public struct Answer: Sendable {
        public let status: Int
        public let headers: HTTPHeaders
        public let json: JSONValue?
        public let text: String
    }

    public func get(_ path: String, timeout: Double = 15) async throws -> Answer {
        try await execute(path, method: .GET, body: nil, timeout: timeout)
    }

    public func post(_ path: String, _ json: JSONValue, headers: [(String, String)] = [], timeout: Double = 15) async throws -> Answer {
        try await execute(path, method: .POST, body: ByteBuffer(bytes: json.compactBytes), headers: headers, timeout: timeout)
    }

    public func put(_ path: String, _ json: JSONValue) async throws -> Answer {
        try await execute(path, method: .PUT, body: ByteBuffer(bytes: json.compactBytes), timeout: 15)
    }

    public func execute(_ path: String, method: HTTPMethod, body: ByteBuffer?, headers: [(String, String)] = [], timeout: Double) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        request.headers.add(name: "Content-Type", value: "application/json")
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body { request.body = .bytes(body) }
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let buffer = try await response.body.collect(upTo: 16 * 1024 * 1024)
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
        return Answer(status: Int(response.status.code), headers: response.headers, json: try? JSONParser.parse(bytes), text: String(decoding: bytes, as: UTF8.self))
    }
}
