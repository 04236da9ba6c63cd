import AsyncHTTPClient
import SyftProxyClient
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

    typealias Answer = ProxyAnswer

    func get(_ path: String, timeout: Double = 10) async throws -> Answer {
        try await ProxyExchange.perform(.GET, baseURL + path, apiKey: apiKey, timeout: timeout, client: client)
    }

    func post(_ path: String, json: JSONValue, timeout: Double = 10) async throws -> Answer {
        try await ProxyExchange.perform(.POST, baseURL + path, body: json, apiKey: apiKey, timeout: timeout, client: client)
    }
}
