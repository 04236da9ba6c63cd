import Synchronization
import SyftProxyClient
import SyftProxyCore

/// The calculator App B of the examples, counting how often each request id was executed.
final class CalculatorApp: Sendable {
    let app: SyftApp
    private final class Executions: Sendable {
        let counts = Mutex<[String: Int]>([:])
        func record(_ id: String) { counts.withLock { $0[id, default: 0] += 1 } }
    }

    private let executions = Executions()
    private let task = Mutex<Task<Void, any Error>?>(nil)

    init(urls: [String], destination: String = "bob@example.com") {
        app = SyftApp(name: "calculator", destination: destination, client: ProxyClient(urls: urls))
        let executions = self.executions
        app.function("add", params: ["a": "number", "b": "number"], returns: "number", description: "Add two numbers") { call in
            executions.record(call.id)
            return .double((call.params["a"]?.doubleValue ?? 0) + (call.params["b"]?.doubleValue ?? 0))
        }
        app.function("multiply", params: ["a": "number", "b": "number"], returns: "number", description: "Multiply two numbers") { call in
            executions.record(call.id)
            return .double((call.params["a"]?.doubleValue ?? 0) * (call.params["b"]?.doubleValue ?? 0))
        }
        app.function("divide", params: ["a": "number", "b": "number"], returns: "number", description: "Divide a by b") { call in
            let b = call.params["b"]?.doubleValue ?? 0
            guard b != 0 else { throw SyftAppError("division by zero") }
            return .double((call.params["a"]?.doubleValue ?? 0) / b)
        }
    }

    func start() {
        let app = self.app
        task.withLock { $0 = Task { try await app.serve(concurrency: 8, pollWait: 2) } }
    }

    func stop() async {
        let running = task.withLock { $0 }
        running?.cancel()
        _ = await running?.result
    }

    var executionCounts: [String: Int] { executions.counts.withLock { $0 } }
}
