import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import SyftProxyCore

/// Sends one HTTP call through the load balancer within one time budget, moving to the next
/// replica when one cannot be reached and waiting out `Retry-After` when every replica is
/// busy. What may be repeated is the caller's to say (``Repeat``); a cancelled call is
/// rethrown as `CancellationError` and says nothing about any replica.
struct Transport: Sendable {
    let balancer: LoadBalancer
    let client: HTTPClient
    let apiKey: String?
    let transportTimeout: Double

    typealias Answer = ProxyAnswer

    enum Repeat: Sendable {
        /// Reads, and sends that carry an Idempotency-Key (the proxy answers a repeat with the
        /// first request): any replica may be asked again.
        case always
        /// State changes that must not happen twice (an inbox lease, a broadcast): asked again
        /// only when the request never left this process.
        case unsentOnly
    }

    /// Longest `Retry-After` the client waits for, whatever the server asks.
    static let maximumRetryAfter = 30.0

    /// `budget` bounds the whole call, retries and waits included; by default the transport
    /// timeout. A blocking send passes its own timeout plus the transport timeout.
    func execute(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil, headers: [(String, String)] = [],
                 repeat policy: Repeat, budget: Double? = nil) async throws -> Answer {
        guard !balancer.urls.isEmpty else {
            throw ProxyClientError.configuration("no replica URL was given; pass at least one proxy URL such as http://localhost:8000")
        }
        let deadline = MonotonicClock.seconds() + (budget ?? transportTimeout)
        var tried: Set<Int> = []
        var lastError = "no replica answered"
        var busy: Answer?
        while true {
            try Task.checkCancellation()
            let remaining = deadline - MonotonicClock.seconds()
            guard remaining > 0 else { break }
            guard let pick = balancer.next(excluding: tried) else {
                // Every replica had its turn. Busy ones said when to come back.
                guard let answer = busy else { break }
                let wait = min(answer.retryAfter ?? 1, Self.maximumRetryAfter)
                guard wait < deadline - MonotonicClock.seconds() else { return answer }
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000)))
                tried = []
                busy = nil
                continue
            }
            let index: Int
            switch pick {
            case .healthy(let healthy), .lastResort(let healthy):
                index = healthy
            case .probe(let candidate):
                index = candidate
                guard try await probe(candidate) else {
                    tried.insert(candidate)
                    continue
                }
            }
            tried.insert(index)
            let answer: Answer
            do {
                answer = try await send(method, balancer.urls[index] + path, body: body, headers: headers, timeout: remaining)
            } catch {
                if Task.isCancelled { throw CancellationError() }
                let failure = CallFailure(error)
                if failure.countsAgainstReplica { balancer.markFailed(index) }
                lastError = "\(balancer.urls[index]): \(error)"
                guard policy == .always || failure.nothingWasSent else { throw ProxyClientError.network(lastError) }
                continue
            }
            balancer.markHealthy(index)
            // 503: this replica is full or cut off from its store, another may not be; 429: the
            // budget is shared by every replica, so only the wait helps. Neither ran the request
            // unless the store failed mid-way, which is why only repeatable calls go again.
            if answer.status == 503 || answer.status == 429, policy == .always {
                busy = answer
                continue
            }
            return answer
        }
        if let busy { return busy }
        throw ProxyClientError.network("no replica of \(balancer.urls.count) answered in time; last error: \(lastError)")
    }

    /// True when the replica answers its health check; a cancelled probe is rethrown.
    private func probe(_ index: Int) async throws -> Bool {
        do {
            let answer = try await send(.GET, balancer.urls[index] + "/health", body: nil, headers: [], timeout: 1)
            if answer.status == 200 {
                balancer.markHealthy(index)
                return true
            }
        } catch {
            if Task.isCancelled { throw CancellationError() }
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
