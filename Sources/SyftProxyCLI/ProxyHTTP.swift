import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SyftProxyCore

/// The small HTTP client the operator commands share.
struct ProxyHTTP {
    let baseURL: String
    let client: HTTPClient
    let apiKey: String?

    init(url: String, apiKey: String? = nil, client: HTTPClient = .shared) {
        self.baseURL = url.hasSuffix("/") ? String(url.dropLast()) : url
        self.apiKey = apiKey
        self.client = client
    }

    struct Answer {
        let status: Int
        let json: JSONValue?
        let text: String
        let replica: String?
    }

    func get(_ path: String, timeout: Double = 10) async throws -> Answer {
        try await execute(path, method: .GET, body: nil, timeout: timeout)
    }

    func post(_ path: String, json: JSONValue, timeout: Double = 10) async throws -> Answer {
        try await execute(path, method: .POST, body: json, timeout: timeout)
    }

    private func execute(_ path: String, method: HTTPMethod, body: JSONValue?, timeout: Double) async throws -> Answer {
        var request = HTTPClientRequest(url: baseURL + path)
        request.method = method
        if let apiKey { request.headers.add(name: "X-API-Key", value: apiKey) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: body.compactBytes))
        }
        let response = try await client.execute(request, timeout: .milliseconds(Int64(timeout * 1000)))
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: buffer.readableBytes) ?? []
        return Answer(
            status: Int(response.status.code), json: try? JSONParser.parse(bytes),
            text: String(decoding: bytes, as: UTF8.self), replica: response.headers.first(name: "X-Proxy-Replica"))
    }
}
