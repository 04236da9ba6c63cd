import Foundation
import ServiceLifecycle
import Synchronization
import SyftProxyCore

/// Thrown by a function handler to answer the caller with an error message.
public struct SyftAppError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What a handler knows about the call it serves.
public struct SyftCall: Sendable {
    public var id: String
    public var function: String
    public var params: JSONObject
    public var sender: String?
    public var headers: [String: String]
    public var attempts: Int
}

/// App B: declares functions with their schema and serves them through the proxy cluster,
/// with a bound on concurrent handlers: over a WebSocket (GET /rpc/connect) by default, or
/// by long-poll pull (GET /rpc/inbox) where the proxy has no WebSocket route.
///
/// ```swift
/// let app = SyftApp(name: "calculator", destination: "bob@example.com", client: client)
/// app.function("add", params: ["a": "number", "b": "number"], returns: "number",
///              description: "Add two numbers") { call in
///     .double((call.params["a"]?.doubleValue ?? 0) + (call.params["b"]?.doubleValue ?? 0))
/// }
/// try await app.serve()   // until the task is cancelled
/// ```
public final class SyftApp: Sendable {
    public typealias Handler = @Sendable (SyftCall) async throws -> JSONValue

    struct Function: Sendable {
        var name: String
        var schema: JSONValue
        var handler: Handler
    }

    public let name: String
    public let destination: String
    public let client: ProxyClient
    private let functions = Mutex<[Function]>([])
    private let served = Mutex(0)
    /// Requests whose handler is running, for graceful shutdown.
    private let running = Mutex<Set<String>>([])

    public init(name: String, destination: String, client: ProxyClient) {
        self.name = name
        self.destination = destination
        self.client = client
    }

    /// Requests answered so far.
    public var answeredCount: Int { served.withLock { $0 } }

    public func function(_ name: String, params: [String: String] = [:], returns: String = "any", description: String = "", handler: @escaping Handler) {
        let schema: JSONValue = [
            "params": JSONValue.stringMap(params), "returns": .string(returns), "description": .string(description),
        ]
        functions.withLock { list in
            list.removeAll { $0.name == name }
            list.append(Function(name: name, schema: schema, handler: handler))
        }
    }

    /// The AppSchema document the app publishes.
    public var schema: JSONValue {
        let list = functions.withLock { $0 }
        return ["app_name": .string(name), "functions": .object(JSONObject(list.map { .init(key: $0.name, value: $0.schema) }))]
    }

    /// Publishes the schema, then leases and answers requests until the task is cancelled or,
    /// inside a ServiceGroup, until graceful shutdown: then it stops leasing and returns once
    /// every request it holds is answered. A refused API key (401/403) ends it with
    /// ``ProxyClientError/auth(status:detail:)``; an unreachable cluster is waited out.
    ///
    /// At graceful shutdown, handlers still running after `shutdownGrace` seconds are cancelled
    /// and their requests handed back to the proxy (POST /rpc/release), so another consumer
    /// takes them at once instead of after their lease; a handler that finishes anyway still
    /// sends its reply.
    ///
    /// `delivery` picks the transport; with ``Delivery/automatic`` (the default) the app
    /// serves over a WebSocket and falls back to pull when the proxy answers GET /rpc/connect
    /// with anything but 426 (an older proxy: 404 or 405). The handlers are the same either way.
    public func serve(concurrency: Int = 8, pollWait: Double = 20, shutdownGrace: Double = 10, delivery: Delivery = .automatic) async throws {
        try await client.publishSchema(app: name, schema: schema)
        if delivery != .pull {
            if try await proxyServesWebSockets(concurrency: concurrency) {
                return try await serveOverWebSocket(concurrency: concurrency, shutdownGrace: shutdownGrace)
            }
            if delivery == .webSocket {
                throw ProxyClientError.configuration("the proxy does not serve WebSockets (GET /rpc/connect is not a WebSocket route there); serve with delivery: .pull or .automatic")
            }
        }
        try await servePull(concurrency: concurrency, pollWait: pollWait, shutdownGrace: shutdownGrace)
    }

    private func servePull(concurrency: Int, pollWait: Double, shutdownGrace: Double) async throws {
        let slots = ConcurrencySlots(capacity: concurrency)
        let poller = Poller()
        do {
            try await serve(slots: slots, poller: poller, pollWait: pollWait, shutdownGrace: shutdownGrace)
        } catch is GraceOver {
            // The handlers that outlived the grace were cancelled and handed back their requests.
        }
    }

    private func serve(slots: ConcurrencySlots, poller: Poller, pollWait: Double, shutdownGrace: Double) async throws {
        try await withThrowingDiscardingTaskGroup { group in
            try await withGracefulShutdownHandler {
                var pause = 0.05
                while !Task.isCancelled, !poller.isStopping {
                    let free = await slots.waitForFree()
                    guard free > 0 else { continue }
                    let items: [JSONValue]
                    do {
                        items = try await poller.run { try await self.lease(max: free, wait: pollWait) }
                        pause = 0.05
                    } catch let error as ProxyClientError {
                        if case .auth = error { throw error }
                        if case .configuration = error { throw error }
                        // The cluster is unreachable or busy; back off and keep trying.
                        try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                        pause = min(2, pause * 2)
                        continue
                    } catch {
                        // Cancelled: by the caller (the loop ends) or by graceful shutdown (same).
                        continue
                    }
                    for item in items {
                        slots.take()
                        group.addTask {
                            defer { slots.give() }
                            try await self.handle(item)
                        }
                    }
                }
            } onGracefulShutdown: {
                poller.stop()
            }
            guard poller.isStopping, !Task.isCancelled else { return }
            group.addTask { try await self.waitForHandlers(grace: shutdownGrace) }
        }
    }

    /// The inbox lease: a state change, so it is never repeated once it reached a replica (a
    /// lost answer would otherwise strand the items it leased and spend an attempt on each).
    private func lease(max: Int, wait: Double) async throws -> [JSONValue] {
        let path = "/rpc/inbox/\(name)?destination=\(destination.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? destination)&max=\(max)&wait=\(JSONValue.format(wait))"
        let answer = try await client.transport.execute(.GET, path, repeat: .unsentOnly, budget: wait + client.transport.transportTimeout).checked()
        return answer.json?["requests"]?.arrayValue ?? []
    }

    private func handle(_ item: JSONValue) async throws {
        guard let id = item["id"]?.stringValue, let reply = await run(item) else { return }
        try await deliverOverHTTP(reply, for: item, id: id)
    }

    /// Runs the item's handler: the reply body ({"result": ...} or {"error": "..."}), or nil
    /// when the handler was cancelled past the shutdown grace and the request handed back.
    func run(_ item: JSONValue) async -> JSONValue? {
        guard let id = item["id"]?.stringValue else { return nil }
        let functionName = item["func_name"]?.stringValue ?? ""
        var headers: [String: String] = [:]
        for member in item["headers"]?.objectValue?.members ?? [] { if let value = member.value.stringValue { headers[member.key] = value } }
        let call = SyftCall(id: id, function: functionName, params: item["params"]?.objectValue ?? [:], sender: item["sender"]?.stringValue, headers: headers, attempts: item["attempts"]?.intValue ?? 1)
        let handler = functions.withLock { list in list.first { $0.name == functionName }?.handler }
        running.withLock { _ = $0.insert(id) }
        defer { running.withLock { _ = $0.remove(id) } }
        guard let handler else { return ["error": .string("app '\(name)' has no function '\(functionName)'")] }
        do {
            return ["result": try await handler(call)]
        } catch is CancellationError where Task.isCancelled {
            // Shutting down past the grace: another consumer should take it now.
            await handBack(item)
            return nil
        } catch {
            return ["error": .string("\(error)")]
        }
    }

    /// Hands a leased item back to the proxy at once (POST /rpc/release), outside any
    /// cancellation; a lease that already passed on is left alone.
    func handBack(_ item: JSONValue) async {
        guard let id = item["id"]?.stringValue, let lease = item["lease"]?.stringValue else { return }
        _ = await detached { try await self.handBack(id, lease: lease) }
    }

    /// Whether no handler is running.
    var isIdle: Bool { running.withLock { $0.isEmpty } }

    /// POST /rpc/reply/{id}, repeated until the proxy takes it or the request can no longer
    /// be answered; counts the answer when it was taken.
    func deliverOverHTTP(_ reply: JSONValue, for item: JSONValue, id: String) async throws {
        let deadline = item["deadline"]?.stringValue.flatMap(Timestamp.parseISO8601) ?? Timestamp.now() + 30
        // A handler that finished although it was cancelled still has its answer delivered.
        let delivered = Task.isCancelled
            ? await detached { try await self.deliverReply(reply, id: id, deadline: min(deadline, Timestamp.now() + 5)) } ?? false
            : try await deliverReply(reply, id: id, deadline: deadline)
        if delivered { countAnswered() }
    }

    func countAnswered() { served.withLock { $0 += 1 } }
    /// An answer sent over the socket that the proxy then refused (404, 409).
    func uncountAnswered() { served.withLock { $0 = max(0, $0 - 1) } }

    /// Returns once no handler runs; throws ``GraceOver`` when they outlive `grace` seconds.
    func waitForHandlers(grace: Double) async throws {
        let deadline = Timestamp.now() + grace
        while !isIdle {
            guard Timestamp.now() < deadline else { throw GraceOver() }
            try await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Gives a leased request back at once; a lease that already passed on is left alone.
    private func handBack(_ id: String, lease: String) async throws {
        _ = try await client.transport.execute(.POST, "/rpc/release/\(id)", body: ["lease": .string(lease)], repeat: .always, budget: 5)
    }

    /// Runs `body` outside the current task's cancellation, for the last word of a cancelled
    /// handler (its reply or its hand-back); nil when it failed.
    func detached<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async -> T? {
        try? await Task { try await body() }.value
    }

    /// Sends the reply until the proxy takes it, the request ends, or its deadline passes.
    /// Replies are safe to repeat (a repeat of a reply that landed gets 409). True when the
    /// proxy took this reply.
    private func deliverReply(_ reply: JSONValue, id: String, deadline: Double) async throws -> Bool {
        var body = reply
        var pause = 0.05
        while true {
            let answer: ProxyAnswer
            do {
                answer = try await client.transport.execute(.POST, "/rpc/reply/\(id)", body: body, repeat: .always)
            } catch let error as ProxyClientError {
                if case .configuration = error { throw error }
                guard Timestamp.now() + pause < deadline else { return false }
                try await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                pause = min(2, pause * 2)
                continue
            }
            switch answer.status {
            case 200..<300:
                return true
            case 401, 403:
                _ = try answer.checked()
                return false
            case 404, 409:
                // Expired, already answered (perhaps by this reply's first try) or timed out.
                return false
            case 413, 422:
                // The result itself was refused (too large, too deep): the caller learns why
                // instead of waiting for a timeout. A refused error message ends the attempt.
                guard body["result"] != nil else { return false }
                let detail = answer.json?["detail"]?.stringValue ?? answer.json?["detail"]?.compactString ?? answer.text
                body = ["error": .string("the app's result was refused by the proxy (HTTP \(answer.status)): \(detail)")]
            default:
                guard Timestamp.now() + pause < deadline else { return false }
                try await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                pause = min(2, pause * 2)
            }
        }
    }
}

extension SyftApp: Service {
    /// Serves with the default concurrency until the ServiceGroup shuts down gracefully.
    public func run() async throws { try await serve() }
}

/// The grace for running handlers at shutdown ran out.
struct GraceOver: Error {}

/// The long poll in flight, so graceful shutdown can cut it short without cancelling the
/// handlers that are still answering.
private final class Poller: Sendable {
    private let state = Mutex<(stopping: Bool, current: Task<[JSONValue], any Error>?)>((false, nil))

    var isStopping: Bool { state.withLock { $0.stopping } }

    func run(_ body: @escaping @Sendable () async throws -> [JSONValue]) async throws -> [JSONValue] {
        let task = Task { try await body() }
        let stopping = state.withLock { state -> Bool in
            state.current = task
            return state.stopping
        }
        if stopping { task.cancel() }
        defer { state.withLock { $0.current = nil } }
        return try await withTaskCancellationHandler { try await task.value } onCancel: { task.cancel() }
    }

    func stop() {
        let task = state.withLock { state -> Task<[JSONValue], any Error>? in
            state.stopping = true
            return state.current
        }
        task?.cancel()
    }
}
