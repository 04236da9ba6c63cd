import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Synchronization
import Testing
import SyftProxyClient
import SyftProxyCore
import SyftProxyTestSupport

/// The app SDK serves over GET /rpc/connect where the proxy offers it, and by pull where not.
@Suite(.serialized) struct AppWebSocketTests {
    @Test func theAppServesOverAWebSocketByDefault() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let app = CalculatorApp(urls: [proxy.baseURL])
        app.start()
        let client = ProxyClient(urls: [proxy.baseURL])
        for n in 0..<5 {
            let status = try await client.send(app: "calculator", function: "add", destination: "bob@example.com", params: ["a": .int(n), "b": 1], blocking: true, timeout: 10)
            #expect(try status.value() == .double(Double(n + 1)))
        }
        let divide = try await client.send(app: "calculator", function: "divide", destination: "bob@example.com", params: ["a": 1, "b": 0], blocking: true, timeout: 10)
        #expect(divide.error == "division by zero")
        let metrics = try await HTTP(baseURL: proxy.baseURL).get("/metrics").text
        #expect(metrics.contains(#"rpc_deliveries_total{mode="websocket"} 6"#), "\(metrics.split(separator: "\n").filter { $0.contains("deliveries") })")
        #expect(!metrics.contains(#"rpc_deliveries_total{mode="pull"}"#))
        #expect(metrics.contains("rpc_websockets_open 1"))
        await app.stop()
    }

    @Test func aLargeAnswerGoesOverHTTPAndArrivesWhole() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let app = SyftApp(name: "echo", destination: "bob@example.com", client: ProxyClient(urls: [proxy.baseURL]))
        let text = String(repeating: "x", count: 200_000)
        app.function("big") { _ in .string(text) }
        let serving = Task { try await app.serve() }
        defer { serving.cancel() }
        let status = try await ProxyClient(urls: [proxy.baseURL]).send(app: "echo", function: "big", destination: "bob@example.com", blocking: true, timeout: 10)
        #expect(try status.value() == .string(text))
    }

    @Test func gracefulShutdownOverASocketLetsARunningHandlerAnswer() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let started = Mutex(false)
        let app = SyftApp(name: "slow", destination: "bob@example.com", client: ProxyClient(urls: [proxy.baseURL]))
        app.function("work") { _ in
            started.withLock { $0 = true }
            try await Task.sleep(for: .milliseconds(500))
            return .double(3)
        }
        let group = ServiceGroup(services: [app], logger: Logger(label: "app-tests"))
        let running = Task { try await group.run() }
        let call = Task { try await ProxyClient(urls: [proxy.baseURL]).send(app: "slow", function: "work", destination: "bob@example.com", blocking: true, timeout: 10) }
        try await eventually("the handler starts") { started.withLock { $0 } }
        await group.triggerGracefulShutdown()
        try await running.value
        #expect(try await call.value.value() == .double(3))
        #expect(app.answeredCount == 1)
        try await eventually("the app's socket closed") { try await HTTP(baseURL: proxy.baseURL).get("/metrics").text.contains("rpc_websockets_open 0") }
    }

    @Test func aProxyWithoutTheRouteIsServedByPull() async throws {
        let leased = Mutex(0)
        let server = try await LoopbackServer.start { router in
            router.put("/rpc/schema/:app") { _, _ in jsonResponse(["status": "published"]) }
            router.get("/rpc/inbox/:app") { _, _ -> Response in
                leased.withLock { $0 += 1 }
                try await Task.sleep(for: .milliseconds(50))
                return jsonResponse(["requests": []])
            }
        }
        defer { Task { await server.stop() } }
        let app = SyftApp(name: "calculator", destination: "bob@example.com", client: ProxyClient(urls: [server.baseURL], transportTimeout: 2))
        let serving = Task { try await app.serve(pollWait: 0) }
        try await eventually("the app polled the inbox") { leased.withLock { $0 } > 0 }
        serving.cancel()
        _ = await serving.result

        let strict = SyftApp(name: "calculator", destination: "bob@example.com", client: ProxyClient(urls: [server.baseURL], transportTimeout: 2))
        await #expect(throws: ProxyClientError.self) { try await strict.serve(delivery: .webSocket) }
    }
}
