import AsyncHTTPClient
import Foundation
import SyftProxyCore

/// Calls functions of SyftBox apps through a cluster of proxy replicas.
///
/// ```swift
/// let client = ProxyClient(urls: ["http://proxy1:8000", "http://proxy2:8000"])
/// let sum = try await client.call(app: "calculator", function: "add",
///                                 destination: "bob@example.com", params: ["a": 5, "b": 3])
/// ```
public struct ProxyClient: Sendable {
    public let balancer: LoadBalancer
    let transport: Transport

    /// Connections that fail fast: a refused or unreachable replica is reported within a
    /// second instead of being retried until the request times out, so the balancer can move
    /// on to the next replica at once. Shared by every ProxyClient, like `HTTPClient.shared`.
    public static let failFastHTTPClient: HTTPClient = {
        var configuration = HTTPClient.Configuration(timeout: .init(connect: .seconds(1)))
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    public init(urls: [String], apiKey: String? = nil, httpClient: HTTPClient = ProxyClient.failFastHTTPClient, transportTimeout: Double = 10) {
        self.init(balancer: LoadBalancer(urls: urls), apiKey: apiKey, httpClient: httpClient, transportTimeout: transportTimeout)
    }

    public init(balancer: LoadBalancer, apiKey: String? = nil, httpClient: HTTPClient = ProxyClient.failFastHTTPClient, transportTimeout: Double = 10) {
        self.balancer = balancer
        self.transport = Transport(balancer: balancer, client: httpClient, apiKey: apiKey, transportTimeout: transportTimeout)
    }

    /// Calls a function and waits for its result (blocking send). Throws `.remote` when the
    /// function reported an error and `.timeout` when no answer came within `timeout`. Pass
    /// your own `idempotencyKey` to make a call you repeat yourself (after a crash, from a
    /// queue) run once; by default each call gets a fresh one.
    public func call(app: String, function: String, destination: String, params: JSONObject = [:],
                     timeout: Double = 30, headers: [String: String] = [:], idempotencyKey: String = UUID().uuidString) async throws -> JSONValue {
        try await send(app: app, function: function, destination: destination, params: params, blocking: true, timeout: timeout,
                       headers: headers, idempotencyKey: idempotencyKey).value()
    }

    /// Sends a request. Every send carries an Idempotency-Key, so the retry on another
    /// replica after a lost answer returns the first request instead of running it twice.
    public func send(app: String, function: String, destination: String, params: JSONObject = [:], blocking: Bool = false,
                     timeout: Double = 30, headers: [String: String] = [:], idempotencyKey: String = UUID().uuidString) async throws -> RPCStatus {
        let body: JSONValue = [
            "app_name": .string(app), "func_name": .string(function), "destination": .string(destination),
            "params": .object(params), "blocking": .bool(blocking), "timeout": .double(timeout), "headers": JSONValue.stringMap(headers),
        ]
        let answer = try await transport.execute(
            .POST, "/rpc/send", body: body, headers: [("Idempotency-Key", idempotencyKey)], repeat: .always,
            budget: blocking ? timeout + transport.transportTimeout : nil)
        if answer.status == 504, let json = answer.json { return try RPCStatus(json: json, servedBy: answer.replica) }
        let checked = try answer.checked()
        guard let json = checked.json else { throw ProxyClientError.http(status: checked.status, detail: checked.text) }
        return try RPCStatus(json: json, servedBy: checked.replica)
    }

    /// Non-blocking send; returns the request id to poll. The same `idempotencyKey` twice
    /// returns the first request's id.
    public func submit(app: String, function: String, destination: String, params: JSONObject = [:], timeout: Double = 30,
                       headers: [String: String] = [:], idempotencyKey: String = UUID().uuidString) async throws -> String {
        try await send(app: app, function: function, destination: destination, params: params, blocking: false, timeout: timeout,
                       headers: headers, idempotencyKey: idempotencyKey).id
    }

    public func status(_ id: String) async throws -> RPCStatus {
        let answer = try await transport.execute(.GET, "/rpc/status/\(id)", repeat: .always).checked()
        guard let json = answer.json else { throw ProxyClientError.http(status: answer.status, detail: answer.text) }
        return try RPCStatus(json: json, servedBy: answer.replica)
    }

    /// Polls until the request is final, backing off from 50 ms to 1 s between polls.
    public func waitForResult(_ id: String, timeout: Double = 30) async throws -> JSONValue {
        let deadline = Date().addingTimeInterval(timeout)
        var pause = 0.05
        while true {
            let current = try await status(id)
            if current.state.isFinal { return try current.value() }
            guard Date() < deadline else { throw ProxyClientError.timeout(id: id, message: "still \(current.state.rawValue) after \(timeout) s") }
            try await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
            pause = min(1, pause * 2)
        }
    }

    /// One request per `syft://<identity>/app_data/<app>/rpc/<endpoint>` URL; ids in order.
    public func broadcast(function: String, destinations: [String], params: JSONObject = [:], timeout: Double = 30) async throws -> (broadcastID: String, requestIDs: [String]) {
        let body: JSONValue = ["func_name": .string(function), "destinations": .array(destinations.map(JSONValue.string)), "params": .object(params), "timeout": .double(timeout)]
        // A broadcast has no idempotency key, so a lost answer is not retried elsewhere.
        let answer = try await transport.execute(.POST, "/rpc/broadcast", body: body, repeat: .unsentOnly).checked()
        let ids = answer.json?["request_ids"]?.arrayValue?.compactMap(\.stringValue) ?? []
        return (answer.json?["broadcast_id"]?.stringValue ?? "", ids)
    }

    /// The app's published schema, or nil when it has none.
    public func schema(app: String) async throws -> JSONValue? {
        do {
            return try await transport.execute(.GET, "/rpc/schema/\(app)", repeat: .always).checked().json
        } catch ProxyClientError.notFound {
            return nil
        }
    }

    public func publishSchema(app: String, schema: JSONValue) async throws {
        _ = try await transport.execute(.PUT, "/rpc/schema/\(app)", body: schema, repeat: .always).checked()
    }
}
