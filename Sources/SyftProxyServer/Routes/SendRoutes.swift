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
            id: environment.store.makeRequestID(appName: send.appName, destination: send.destination), appName: send.appName, funcName: send.funcName, destination: send.destination,
            sender: context.identity, params: send.params, headers: send.headers, timeout: send.timeout,
            traceparent: request.headers[.traceparent], encodedParams: send.encodedParams)
        let idempotencyKey = request.headers[.idempotencyKey].flatMap { key in
            key.isEmpty ? nil : IdempotencyKey(key: key, scope: Self.idempotencyScope(context), request: new)
        }
        let store = environment.store
        let metrics = environment.metrics
        let logger = context.logger
        // The local fast path is for blocking sends without an Idempotency-Key: a non-blocking
        // send answers `pending` (the contract), and a key's send has a claim step of its own.
        let reservation = send.blocking && idempotencyKey == nil ? environment.localConsumers.reserve(appName: new.appName, destination: new.destination) : nil
        let accepted: @Sendable (CreateOutcome) -> Void = { outcome in
            if case .created(let record) = outcome { metrics.accepted(record) }
            reservation?.complete(outcome, store: store, logger: logger)
        }
        // A create that failed (or was cancelled) hands nothing over; its room is freed.
        defer { reservation?.cancel() }
        do {
            guard send.blocking else {
                let outcome = try await store.create([new], idempotencyKey: idempotencyKey).first
                guard let outcome else { throw Self.acceptedNothing }
                accepted(outcome)
                return JSONResponse.make(outcome.record.statusJSON, headers: Self.headers(rateHeaders, outcome))
            }
            guard let (outcome, current) = try await store.createAndWait(new, idempotencyKey: idempotencyKey, leasingTo: reservation?.kind, accepted: accepted) else {
                throw Self.acceptedNothing
            }
            return try await blockingResponse(current, headers: Self.headers(rateHeaders, outcome))
        } catch let reused as IdempotencyKeyReused {
            throw ValidationError(ValidationIssue([.key("header"), .key("Idempotency-Key")], "Value error, \(reused)", type: "value_error")).apiError
        }
    }

    /// Whose Idempotency-Keys a request's key is one of: the identity with API keys, else the
    /// client's address (behind a trusted proxy, the one X-Forwarded-For names). The kinds are
    /// tagged so an identity never shares a scope with an address.
    private static func idempotencyScope(_ context: ProxyRequestContext) -> String {
        if let identity = context.identity { return "identity:" + identity }
        return "address:" + context.clientAddress
    }

    private static var acceptedNothing: APIError { APIError(.internalServerError, "the store accepted nothing; retry the request") }

    private static func headers(_ rateHeaders: HTTPFields, _ outcome: CreateOutcome) -> HTTPFields {
        var headers = rateHeaders
        headers[.requestID] = outcome.record.id
        if case .duplicate = outcome { headers[.idempotentReplay] = "true" }
        return headers
    }

    /// The response to a blocking send, once the wait for the request's answer ended. A timeout
    /// is 504 with the failed status; any other ending, success or app error, is 200.
    ///
    /// The wait ends by this replica's clock, but the store's clock decides when the request
    /// times out; while the store says it is not overdue yet, the wait goes on, bounded.
    private func blockingResponse(_ waited: RPCRecord, headers: HTTPFields) async throws -> Response {
        let store = environment.store
        var current = waited
        let giveUp = Timestamp.now() + Self.storeClockAllowance
        while !current.state.isFinal {
            // A caller that went away ends the wait (the stores' waits return at once then).
            try Task.checkCancellation()
            guard let checked = try await store.expireIfOverdue(id: current.id) else {
                throw APIError(.internalServerError, "request \(current.id) is no longer in the store although it had not ended (was the store cleared?); send the request again")
            }
            current = checked
            if current.state.isFinal { break }
            let now = Timestamp.now()
            guard now < giveUp else {
                throw APIError(.serviceUnavailable, "request \(current.id) is still \(current.state.rawValue) although its deadline passed by this replica's clock: the store's clock is more than \(JSONValue.format(Self.storeClockAllowance)) s behind it; read the outcome with GET /rpc/status/\(current.id) and check the hosts' time sync")
            }
            current = try await store.waitForFinal(id: current.id, until: min(giveUp, now + Self.storeClockRecheck)) ?? current
        }
        if current.timedOut {
            return JSONResponse.make(current.statusJSON, status: .gatewayTimeout, headers: headers)
        }
        return JSONResponse.make(current.statusJSON, headers: headers)
    }

    /// How far behind this replica's clock the store's may be before a blocking caller is told
    /// so instead of waiting on.
    static let storeClockAllowance: Double = 15
    /// A wait for the store's verdict asks it again this often (a wake-up ends it sooner).
    static let storeClockRecheck: Double = 0.5

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
                id: environment.store.makeRequestID(appName: url.appName, destination: url.identity), appName: url.appName, funcName: broadcast.funcName, destination: url.identity,
                sender: context.identity, params: broadcast.params, headers: broadcast.headers,
                timeout: broadcast.timeout, endpoint: url.description, traceparent: traceparent, encodedParams: broadcast.encodedParams)
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
