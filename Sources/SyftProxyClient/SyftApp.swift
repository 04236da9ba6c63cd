import Foundation
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

/// App B: declares functions with their schema and serves them in pull mode through the
/// proxy cluster, with a bound on concurrent handlers.
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

    /// Publishes the schema, then leases and answers requests until the task is cancelled.
    public func serve(concurrency: Int = 8, pollWait: Double = 20) async throws {
        try await client.publishSchema(app: name, schema: schema)
        let slots = ConcurrencySlots(capacity: concurrency)
        await withDiscardingTaskGroup { group in
            var pause = 0.05
            while !Task.isCancelled {
                let free = await slots.waitForFree()
                guard free > 0 else { continue }
                let items: [JSONValue]
                do {
                    items = try await lease(max: free, wait: pollWait)
                    pause = 0.05
                } catch {
                    // The cluster is unreachable; back off and keep trying until cancelled.
                    try? await Task.sleep(for: .milliseconds(Int64(pause * 1000)))
                    pause = min(2, pause * 2)
                    continue
                }
                for item in items {
                    slots.take()
                    group.addTask {
                        await self.handle(item)
                        slots.give()
                    }
                }
            }
        }
    }

    private func lease(max: Int, wait: Double) async throws -> [JSONValue] {
        let path = "/rpc/inbox/\(name)?destination=\(destination.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed) ?? destination)&max=\(max)&wait=\(JSONValue.format(wait))"
        let answer = try await client.transport.execute(.GET, path, retry: true, timeout: wait + client.transport.transportTimeout).checked()
        return answer.json?["requests"]?.arrayValue ?? []
    }

    private func handle(_ item: JSONValue) async {
        guard let id = item["id"]?.stringValue else { return }
        let functionName = item["func_name"]?.stringValue ?? ""
        var headers: [String: String] = [:]
        for member in item["headers"]?.objectValue?.members ?? [] { if let value = member.value.stringValue { headers[member.key] = value } }
        let call = SyftCall(id: id, function: functionName, params: item["params"]?.objectValue ?? [:], sender: item["sender"]?.stringValue, headers: headers, attempts: item["attempts"]?.intValue ?? 1)
        let handler = functions.withLock { list in list.first { $0.name == functionName }?.handler }
        let reply: JSONValue
        if let handler {
            do {
                reply = ["result": try await handler(call)]
            } catch {
                reply = ["error": .string("\(error)")]
            }
        } else {
            reply = ["error": .string("app '\(name)' has no function '\(functionName)'")]
        }
        // A 409 means the request was already answered or timed out; nothing more to do.
        _ = try? await client.transport.execute(.POST, "/rpc/reply/\(id)", body: reply, retry: true)
        served.withLock { $0 += 1 }
    }
}
