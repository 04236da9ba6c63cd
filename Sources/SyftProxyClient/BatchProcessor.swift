import SyftProxyCore

/// Runs many calls in parallel, at most `concurrency` at once, and returns their outcomes in
/// the order the calls were given.
public struct BatchProcessor: Sendable {
    public struct Call: Sendable {
        public var app: String
        public var function: String
        public var destination: String
        public var params: JSONObject
        public var timeout: Double

        public init(app: String, function: String, destination: String, params: JSONObject = [:], timeout: Double = 30) {
            self.app = app
            self.function = function
            self.destination = destination
            self.params = params
            self.timeout = timeout
        }
    }

    public let client: ProxyClient
    public let concurrency: Int

    public init(client: ProxyClient, concurrency: Int = 16) {
        self.client = client
        self.concurrency = max(1, concurrency)
    }

    public func run(_ calls: [Call]) async -> [Result<JSONValue, ProxyClientError>] {
        var results = [Result<JSONValue, ProxyClientError>?](repeating: nil, count: calls.count)
        await withTaskGroup(of: (Int, Result<JSONValue, ProxyClientError>).self) { group in
            var nextIndex = 0
            func startNext() {
                guard nextIndex < calls.count else { return }
                let index = nextIndex
                let call = calls[index]
                nextIndex += 1
                group.addTask {
                    do {
                        let value = try await client.call(app: call.app, function: call.function, destination: call.destination, params: call.params, timeout: call.timeout)
                        return (index, .success(value))
                    } catch let error as ProxyClientError {
                        return (index, .failure(error))
                    } catch {
                        return (index, .failure(.network("\(error)")))
                    }
                }
            }
            for _ in 0..<min(concurrency, calls.count) { startNext() }
            for await (index, result) in group {
                results[index] = result
                startNext()
            }
        }
        return results.map { $0 ?? .failure(.network("not run")) }
    }
}

/// Schema discovery across apps.
public struct ServiceRegistry: Sendable {
    public let client: ProxyClient

    public init(client: ProxyClient) { self.client = client }

    /// The published schemas of those apps that have one.
    public func discover(_ apps: [String]) async throws -> [String: JSONValue] {
        var found: [String: JSONValue] = [:]
        for app in apps {
            if let schema = try await client.schema(app: app) { found[app] = schema }
        }
        return found
    }

    /// Names of an app's functions, in the order its schema lists them.
    public func functions(of app: String) async throws -> [String] {
        try await client.schema(app: app)?["functions"]?.objectValue?.keys ?? []
    }
}
