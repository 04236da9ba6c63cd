import Foundation
import Hummingbird
import SyftProxyCore

/// POST /rpc/send and POST /rpc/broadcast: where requests enter the proxy.
struct SendRoutes: Sendable {
    let environment: ProxyEnvironment

    func register(on rpc: RouterGroup<ProxyRequestContext>) {
        rpc.post("send") { request, context in try await send(request, context: context) }
        rpc.post("broadcast") { request, context in try await broadcast(request, context: context) }
    }

    func send(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let configuration = environment.configuration
        let body = try await RequestBody.json(request, limit: configuration.maxBodyBytes)
        let send: RPCSendRequest
        do { send = try RPCSendRequest(json: body, limits: configuration.limits) } catch { throw error.apiError }
        let rateHeaders = try await environment.rateLimiter.charge(1, context: context)
        try await environment.syftBoxRouting?.prepare(appName: send.appName, destination: send.destination)

        let new = NewRequest(
            id: Self.newID(), appName: send.appName, funcName: send.funcName, destination: send.destination,
            sender: context.identity, params: send.params, headers: send.headers, timeout: send.timeout,
            traceparent: request.headers[.traceparent])
        let idempotencyKey = request.headers[.idempotencyKey].flatMap { $0.isEmpty ? nil : $0 }
        let store = environment.store
        let metrics = environment.metrics
        let accepted: @Sendable (CreateOutcome) -> Void = { outcome in
            if case .created(let record) = outcome { metrics.accepted(record) }
        }
        guard send.blocking else {
            let outcome = try await store.create([new], idempotencyKey: idempotencyKey).first
            guard let outcome else { throw Self.acceptedNothing }
            accepted(outcome)
            return JSONResponse.make(outcome.record.statusJSON, headers: Self.headers(rateHeaders, outcome))
        }
        guard let (outcome, current) = try await store.createAndWait(new, idempotencyKey: idempotencyKey, accepted: accepted) else {
            throw Self.acceptedNothing
        }
        return try await answer(outcome.record, current: current, headers: Self.headers(rateHeaders, outcome))
    }

    private static var acceptedNothing: APIError { APIError(.internalServerError, "the store accepted nothing; retry the request") }

    private static func headers(_ rateHeaders: HTTPFields, _ outcome: CreateOutcome) -> HTTPFields {
        var headers = rateHeaders
        headers[.requestID] = outcome.record.id
        if case .duplicate = outcome { headers[.idempotentReplay] = "true" }
        return headers
    }

    /// The answer to a blocking send, once the wait for the request's answer ended. A timeout
    /// is 504 with the failed status; any other ending, success or app error, is 200.
    private func answer(_ record: RPCRecord, current waited: RPCRecord, headers: HTTPFields) async throws -> Response {
        let store = environment.store
        var current = waited
        if !current.state.isFinal {
            current = try await store.expireIfOverdue(id: record.id) ?? current
        }
        if current.timedOut || !current.state.isFinal {
            return JSONResponse.make(current.statusJSON, status: .gatewayTimeout, headers: headers)
        }
        return JSONResponse.make(current.statusJSON, headers: headers)
    }

    func broadcast(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let configuration = environment.configuration
        let body = try await RequestBody.json(request, limit: configuration.maxBodyBytes)
        let broadcast: RPCBroadcastRequest
        do { broadcast = try RPCBroadcastRequest(json: body, limits: configuration.limits) } catch { throw error.apiError }
        let rateHeaders = try await environment.rateLimiter.charge(broadcast.destinations.count, context: context)
        let traceparent = request.headers[.traceparent]
        if let routing = environment.syftBoxRouting {
            for url in broadcast.destinations { try await routing.prepare(appName: url.appName, destination: url.identity) }
        }
        let requests = broadcast.destinations.map { url in
            NewRequest(
                id: Self.newID(), appName: url.appName, funcName: broadcast.funcName, destination: url.identity,
                sender: context.identity, params: broadcast.params, headers: broadcast.headers,
                timeout: broadcast.timeout, endpoint: url.description, traceparent: traceparent)
        }
        let outcomes = try await environment.store.create(requests, idempotencyKey: nil)
        for outcome in outcomes { if case .created(let record) = outcome { environment.metrics.accepted(record) } }
        return JSONResponse.make([
            "broadcast_id": .string(Self.newID()),
            "request_ids": .array(outcomes.map { .string($0.record.id) }),
        ], headers: rateHeaders)
    }

    static func newID() -> String { UUID().uuidString.lowercased() }
}
