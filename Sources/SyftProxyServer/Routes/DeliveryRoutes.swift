import Hummingbird
import SyftProxyCore

/// How App B takes its requests (GET /rpc/inbox/{app}), answers them (POST /rpc/reply/{id})
/// and hands back the ones it will not answer (POST /rpc/release/{id}).
struct DeliveryRoutes: Sendable {
    let environment: ProxyEnvironment
    static let maximumBatch = 100
    static let defaultBatch = 10
    /// Under /rpc. An inbox read leases what it returns, so no HEAD is run as this GET.
    static let inboxPath = "inbox/:app_name"

    func register(on rpc: RouterGroup<ProxyRequestContext>) {
        rpc.get(RouterPath(Self.inboxPath)) { request, context in try await inbox(request, context: context) }
        rpc.post("reply/:id") { request, context in try await reply(request, context: context) }
        rpc.post("release/:id") { request, context in try await release(request, context: context) }
    }

    func inbox(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let appName = try context.pathParameter("app_name")
        let query = request.uri.queryParameters
        var issues: [ValidationIssue] = []
        let destination = query.get("destination").map { String($0) } ?? ""
        if destination.isEmpty {
            issues.append(ValidationIssue([.key("query"), .key("destination")], "Field required: the identity whose requests to lease, such as bob@example.com", type: "missing"))
        } else if !Validation.isIdentity(destination) {
            issues.append(ValidationIssue([.key("query"), .key("destination")], "Value error, destination must be an identity with exactly one '@'", type: "value_error"))
        }
        let max = Self.number(query.get("max"), field: "max", default: Double(Self.defaultBatch), range: 1...Double(Self.maximumBatch), integer: true, issues: &issues)
        let wait = Self.number(query.get("wait"), field: "wait", default: 0, range: 0...environment.configuration.maxTimeout, issues: &issues)
        // Code points, as the body validators and JSON Schema's maxLength count them.
        if appName.isEmpty || appName.unicodeScalars.count > Validation.maximumNameLength {
            issues.append(ValidationIssue([.key("path"), .key("app_name")], "String should have 1 to \(Validation.maximumNameLength) characters", type: "string_too_long"))
        }
        if !issues.isEmpty { throw APIError(validation: ValidationError(issues)) }
        try Ownership.requireDestination(destination, context: context, action: "lease the inbox")

        let store = environment.store
        let deadline = Timestamp.now() + wait
        var leased: [RPCRecord] = []
        while true {
            leased = try await store.leaseInbox(appName: appName, destination: destination, max: Int(max))
            if !leased.isEmpty || Timestamp.now() >= deadline || Task.isCancelled { break }
            if let handed = try await waitForWork(appName: appName, destination: destination, until: deadline) {
                environment.metrics.deliveredDirectly(mode: "pull")
                return JSONResponse.make(["requests": [handed.inboxJSON]])
            }
        }
        environment.metrics.delivered(count: leased.count, mode: "pull")
        return JSONResponse.make(["requests": .array(leased.map(\.inboxJSON))])
    }

    /// Waits for the pair's queue, while standing as a local consumer: a send on this replica
    /// may hand its request over directly, which is then returned.
    private func waitForWork(appName: String, destination: String, until deadline: Double) async throws -> RPCRecord? {
        let store = environment.store
        let waiter = InboxWaiter()
        let pair = QueueName(appName: appName, destination: destination)
        environment.localConsumers.add(waiter, for: pair)
        defer { environment.localConsumers.remove(waiter, for: pair) }
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await store.waitForInbox(appName: appName, destination: destination, until: deadline) }
                group.addTask { await waiter.waitForDelivery() }
                try await group.next()
                group.cancelAll()
            }
        } catch {
            // A request handed over meanwhile is leased to this poll: give it back, uncounted.
            if let handed = waiter.close(), let token = handed.leaseToken {
                _ = try? await uncancelled { try await store.releaseLease(id: handed.id, token: token) }
            }
            throw error
        }
        return waiter.close()
    }

    func reply(_ request: Request, context: ProxyRequestContext) async throws -> Response {
        let id = try context.pathParameter("id")
        let body = try await RequestBody.json(request, limit: environment.configuration.maxBodyBytes)
        let answer: RPCAnswer
        do { answer = try RPCAnswer(json: body) } catch { throw error.apiError }
        if context.identity != nil {
            // Only the destination may answer; checking costs a read, paid only when keys are on.
            guard let record = try await environment.store.record(id: id) else {
                throw APIError.notFound("request '\(id)' is unknown or has expired; nothing to answer")
            }
            try Ownership.requireDestination(record.destination, context: context, action: "answer requests")
        }
        switch try await environment.store.answer(id: id, with: answer) {
        case .accepted(let record):
            environment.metrics.finished(record)
            return JSONResponse.make(record.statusJSON)
        case .alreadyFinal(let record):
            let reason = record.timedOut ? "timed out" : record.state.rawValue
            throw APIError(.conflict, "request '\(id)' already \(reason == "timed out" ? "timed out" : "is \(reason)"); this answer was ignored")
        case .leaseLost(let record):
            // Only a lease holder's answer can be fenced off; App B's reply never is.
            throw APIError(.conflict, "request '\(id)' is \(record.state.rawValue) under another delivery; this answer was ignored")
        case .notFound:
            throw APIError.notFound("request '\(id)' is unknown or has expired; nothing to answer")
        }
    }

    static func number(_ text: String?, field: String, default defaultValue: Double, range: ClosedRange<Double>, integer: Bool = false, issues: inout [ValidationIssue]) -> Double {
        guard let text, !text.isEmpty else { return defaultValue }
        guard let value = Double(text), value.isFinite, range.contains(value), !integer || value.rounded() == value else {
            let kind = integer ? "a whole number" : "a number"
            issues.append(ValidationIssue([.key("query"), .key(field)], "Input should be \(kind) from \(JSONValue.format(range.lowerBound)) to \(JSONValue.format(range.upperBound))", type: "value_error"))
            return defaultValue
        }
        return value
    }
}
