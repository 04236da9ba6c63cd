import SyftProxyTestSupport
import Foundation
import Testing
import SyftProxyCore

/// Each test starts a real `syft-proxy serve` process and talks to it over loopback HTTP.
@Suite(.serialized) struct EndToEndTests {
    func calculatorResponder(_ http: HTTP, destination: String, count: Int) -> Task<Int, any Error> {
        Task {
            var answered = 0
            let deadline = Date().addingTimeInterval(20)
            while answered < count, Date() < deadline {
                let inbox = try await http.get("/rpc/inbox/calculator?destination=\(destination)&max=10&wait=2")
                for item in inbox.json?["requests"]?.arrayValue ?? [] {
                    guard let id = item["id"]?.stringValue else { continue }
                    let a = item["params"]?["a"]?.doubleValue ?? 0
                    let b = item["params"]?["b"]?.doubleValue ?? 0
                    let answer: JSONValue = item["func_name"] == "multiply" ? ["result": .double(a * b)] : item["func_name"] == "add" ? ["result": .double(a + b)] : ["error": "unknown function"]
                    _ = try await http.post("/rpc/reply/\(id)", answer)
                    answered += 1
                }
            }
            return answered
        }
    }

    @Test func pullModeRoundTripsBlockingAndNonBlocking() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let responder = calculatorResponder(http, destination: "bob@example.com", count: 2)

        let blocking = try await http.post("/rpc/send", ["app_name": "calculator", "func_name": "add", "destination": "bob@example.com", "params": ["a": 5, "b": 3], "blocking": true, "timeout": 10])
        #expect(blocking.status == 200)
        #expect(blocking.json?["status"] == "completed")
        #expect(blocking.json?["result"] == 8)

        let sent = try await http.post("/rpc/send", ["app_name": "calculator", "func_name": "multiply", "destination": "bob@example.com", "params": ["a": 3, "b": 4]])
        #expect(sent.json?["status"] == "pending")
        let id = try #require(sent.json?["id"]?.stringValue)
        var status: JSONValue?
        for _ in 0..<200 {
            status = try await http.get("/rpc/status/\(id)").json
            if status?["status"] == "completed" { break }
            try await Task.sleep(for: .milliseconds(25))
        }
        #expect(status?["result"] == 12)
        #expect(try await responder.value == 2)
    }

    @Test func pushModeDeliversWithTraceContextAndCompletes() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let app = try await PushResponder { body in
            let a = body["params"]?["a"]?.intValue ?? 0
            if body["func_name"] == "fail" { return (.badRequest, #"{"error":"bad input for fail"}"#) }
            if body["func_name"] == "raw" { return (.ok, #"[1,2,3]"#) }
            return (.ok, #"{"result": \#(a * 2)}"#)
        }
        defer { Task { await app.stop() } }
        let registered = try await http.put("/rpc/apps/doubler/endpoint", ["destination": "bob@example.com", "url": .string(app.url)])
        #expect(registered.status == 200)

        let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
        let done = try await http.post("/rpc/send", ["app_name": "doubler", "func_name": "double", "destination": "bob@example.com", "params": ["a": 21], "blocking": true, "timeout": 10], headers: [("traceparent", traceparent)])
        #expect(done.status == 200)
        #expect(done.json?["status"] == "completed")
        #expect(done.json?["result"] == 42)
        let delivery = try #require(app.deliveries.first)
        #expect(delivery.requestID == done.json?["id"]?.stringValue)
        #expect(delivery.traceparent?.contains("4bf92f3577b34da6a3ce929d0e0e4736") == true)
        for key in ["id", "app_name", "func_name", "params", "headers", "sender", "deadline"] { #expect(delivery.body[key] != nil) }

        let failed = try await http.post("/rpc/send", ["app_name": "doubler", "func_name": "fail", "destination": "bob@example.com", "blocking": true, "timeout": 10])
        #expect(failed.status == 200)
        #expect(failed.json?["status"] == "failed")
        #expect(failed.json?["error"] == "bad input for fail")

        let raw = try await http.post("/rpc/send", ["app_name": "doubler", "func_name": "raw", "destination": "bob@example.com", "blocking": true, "timeout": 10])
        #expect(raw.json?["result"] == [1, 2, 3])
    }

    @Test func pushToAnAppNotListeningYetIsRetriedUntilItIs() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        // Reserve a port, register it, and only then start listening there.
        let placeholder = try await PushResponder { _ in (.ok, "{}") }
        let port = placeholder.port
        await placeholder.stop()
        _ = try await http.put("/rpc/apps/late/endpoint", ["destination": "bob@example.com", "url": .string("http://127.0.0.1:\(port)/rpc")])
        let sent = try await http.post("/rpc/send", ["app_name": "late", "func_name": "f", "destination": "bob@example.com", "timeout": 20])
        let id = try #require(sent.json?["id"]?.stringValue)
        try await Task.sleep(for: .milliseconds(500))
        #expect(try await http.get("/rpc/status/\(id)").json?["status"] != "completed")
        let server = try await PushResponder(port: port) { _ in (.ok, #"{"result":"late but here"}"#) }
        defer { Task { await server.stop() } }
        var status: JSONValue?
        for _ in 0..<200 {
            status = try await http.get("/rpc/status/\(id)").json
            if status?["status"] == "completed" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(status?["status"] == "completed")
        #expect(status?["result"] == "late but here")
    }

    @Test func blockingTimeoutIs504AndLateReplyIs409() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let answer = try await http.post("/rpc/send", ["app_name": "calculator", "func_name": "add", "destination": "nobody@example.com", "blocking": true, "timeout": 0.5])
        #expect(answer.status == 504)
        #expect(answer.json?["status"] == "failed")
        #expect(answer.json?["error"]?.stringValue?.contains("timed out") == true)
        let id = try #require(answer.json?["id"]?.stringValue)
        #expect(try await http.post("/rpc/reply/\(id)", ["result": 1]).status == 409)
    }

    @Test func badInputNeverCrashesTheServer() async throws {
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_MAX_PARAMS_BYTES": "1000"])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let bodies = ["{", "[]", "null", "\"x\"", "{\"app_name\":1}", String(repeating: "[", count: 3000), "{\"params\":{\"a\":\"\\ud800\"}}", "\u{00}\u{01}"]
        for body in bodies {
            let answer = try await http.execute("/rpc/send", method: .POST, body: .init(string: body), timeout: 10)
            #expect(answer.status == 422, "body \(body.prefix(20)) gave \(answer.status)")
        }
        let huge = try await http.execute("/rpc/send", method: .POST, body: .init(string: String(repeating: "x", count: 10_000)), timeout: 10)
        #expect(huge.status == 413)
        #expect(try await http.get("/health").status == 200)
        #expect(proxy.process.isRunning)
    }

    @Test func cliHealthInfoAndTestRequest() async throws {
        let proxy = try await ProxyProcess.launch()
        defer { proxy.stop() }
        let health = try runCommand(["health", "--url", proxy.baseURL])
        #expect(health.status == 0, "\(health.output)")
        let info = try runCommand(["info", "--url", proxy.baseURL])
        #expect(info.status == 0)
        #expect(info.output.contains("replica_id"))
        #expect(info.output.contains("memory"))
        let roundTrip = try runCommand(["test-request", "--url", proxy.baseURL, "--count", "3"])
        #expect(roundTrip.status == 0, "\(roundTrip.output)")
        #expect(roundTrip.output.contains("ok: 3 round trips"))
        let unreachable = try runCommand(["health", "--url", "http://127.0.0.1:1"])
        #expect(unreachable.status != 0)
    }

    @Test func testRequestWorksWhenKeysAreRequired() async throws {
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_API_KEYS": "selftest-key-01=ops@example.com"])
        defer { proxy.stop() }
        let refused = try runCommand(["test-request", "--url", proxy.baseURL, "--count", "1", "--api-key", "wrong-key-0001"])
        #expect(refused.status != 0)
        let roundTrip = try runCommand(["test-request", "--url", proxy.baseURL, "--count", "2", "--api-key", "selftest-key-01"])
        #expect(roundTrip.status == 0, "\(roundTrip.output)")
        #expect(roundTrip.output.contains("ok: 2 round trips"))
    }

    @Test func invalidConfigurationIsRefusedWithAClearMessage() throws {
        let (status, output) = try runCommand(["serve", "--host", "127.0.0.1", "--port", "0"], environment: ["PROXY_TIMEOUT": "abc"])
        #expect(status != 0)
        #expect(output.contains("PROXY_TIMEOUT"))
    }

    @Test func sigtermStopsTheReplicaCleanly() async throws {
        let proxy = try await ProxyProcess.launch()
        #expect(try await HTTP(baseURL: proxy.baseURL).get("/health").status == 200)
        proxy.process.terminate()
        let deadline = Date().addingTimeInterval(10)
        while proxy.process.isRunning, Date() < deadline { try await Task.sleep(for: .milliseconds(20)) }
        #expect(!proxy.process.isRunning)
        #expect(proxy.process.terminationStatus == 0, "\(proxy.log)")
    }
}
