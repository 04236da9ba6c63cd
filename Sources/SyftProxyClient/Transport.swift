import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import SyftProxyCore

/// Sends one HTTP call through the load balancer, moving to the next replica when one
/// cannot be reached. Only calls that are safe to repeat are retried: reads, and sends that
/// carry an Idempotency-Key (the proxy answers a repeat with the first request).
struct Transport: Sendable {
    let balancer: LoadBalancer
    let client: HTTPClient
    let apiKey: String?
    let transportTimeout: Double

    typealias Answer = ProxyAnswer

    func execute(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, headers: [(String, String)] = [],
                 retry: Bool, timeout: Double? = nil) async throws -> Answer {
        var tried: Set<Int> = []
        var lastError = "no replica answered"
        while let pick = balancer.next(excluding: tried) {
            let index: Int
            switch pick {
            case .healthy(let healthy):
                index = healthy
            case .probe(let candidate):
                index = candidate
                guard await probe(candidate) else {
                    tried.insert(candidate)
                    continue
                }
            }
            tried.insert(index)
            do {
                let answer = try await send(method, balancer.urls[index] + path, body: body, headers: headers, timeout: timeout ?? transportTimeout)
                // 503 means this replica is full or cut off from its store; another may not be.
                if answer.status == 503, retry, tried.count < balancer.urls.count { continue }
                return answer
            } catch {
                balancer.markFailed(index)
                lastError = "\(balancer.urls[index]): \(error)"
                if !retry { throw ProxyClientError.network(lastError) }
            }
        }
        throw ProxyClientError.network("no replica of \(balancer.urls.count) could be reached; last error: \(lastError)")
    }

    private func probe(_ index: Int) async -> Bool {
        let answer = try? await send(.GET, balancer.urls[index] + "/health", body: nil, headers: [], timeout: 1)
        if answer?.status == 200 {
            balancer.markHealthy(index)
            return true
        }
        balancer.markFailed(index)
        return false
    }

    private func send(_ method: HTTPMethod, _ url: String, body: JSONValue?, headers: [(String, String)], timeout: Double) async throws -> Answer {
        try await ProxyExchange.perform(method, url, body: body, headers: headers, apiKey: apiKey, timeout: timeout, client: client)
    }
}

extension Transport.Answer {
    /// Turns a non-2xx answer into the client's error kinds.
    func checked() throws -> Transport.Answer {
        guard !(200..<300).contains(status) else { return self }
        let detail = json?["detail"]
        let text = detail?.stringValue ?? detail?.compactString ?? self.text
        switch status {
        case 401, 403: throw ProxyClientError.auth(status: status, detail: text)
        case 404: throw ProxyClientError.notFound(text)
        case 413, 422: throw ProxyClientError.validation(status: status, detail: detail ?? .string(self.text))
        default: throw ProxyClientError.http(status: status, detail: text)
        }
    }
}
