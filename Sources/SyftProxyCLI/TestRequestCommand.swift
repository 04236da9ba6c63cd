import ArgumentParser
import Foundation
import SyftProxyCore

/// `syft-proxy test-request`: a real round trip. It plays App B itself (a pull consumer of a
/// private test app) and App A (a blocking sender), so a pass proves send, delivery, reply
/// and wake-up all work on that proxy, and prints how long each round trip took.
struct TestRequestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "test-request", abstract: "Send test requests through the proxy to a responder this command runs, and print the latency.")

    @Option(help: "Base URL of the replica.") var url = "http://localhost:8000"
    @Option(help: "Round trips to make.") var count = 3
    @Option(help: "Seconds each round trip may take.") var timeout: Double = 10
    @Option(help: "API key when the proxy requires one (default: $SYFT_API_KEY). Its identity plays both sender and responder, so the round trip targets that identity.")
    var apiKey: String?

    func run() async throws {
        guard count >= 1 else { throw ValidationError("--count must be at least 1") }
        let key = apiKey ?? ProcessInfo.processInfo.environment["SYFT_API_KEY"]
        let http = ProxyHTTP(url: url, apiKey: key)
        let app = "syft-proxy-selftest-\(UUID().uuidString.prefix(8).lowercased())"
        var destination = "selftest@syft-proxy.local"
        if key != nil {
            // With keys only the destination may lease its inbox: answer as the key's own identity.
            let probe = try await http.post("/rpc/send", json: ["app_name": .string(app), "func_name": "whoami", "destination": "selftest@syft-proxy.local", "timeout": 1])
            guard probe.status == 200, let identity = probe.json?["sender"]?.stringValue else {
                print("the proxy refused the API key: HTTP \(probe.status) \(probe.text)")
                throw ExitCode(1)
            }
            destination = identity
        }

        let responder = Task {
            var answered = 0
            while answered < count, !Task.isCancelled {
                let inbox = try await http.get("/rpc/inbox/\(app)?destination=\(destination)&max=10&wait=2", timeout: 10)
                guard inbox.status == 200 else { throw ResponderError(message: "inbox answered \(inbox.status): \(inbox.text)") }
                for item in inbox.json?["requests"]?.arrayValue ?? [] {
                    guard let id = item["id"]?.stringValue else { continue }
                    let reply = try await http.post("/rpc/reply/\(id)", json: ["result": ["echo": item["params"] ?? .null]])
                    guard reply.status == 200 else { throw ResponderError(message: "reply answered \(reply.status): \(reply.text)") }
                    answered += 1
                }
            }
        }
        defer { responder.cancel() }

        var latencies: [Double] = []
        for round in 1...count {
            let started = Date()
            let answer: ProxyHTTP.Answer
            do {
                answer = try await http.post("/rpc/send", json: [
                    "app_name": .string(app), "func_name": "echo", "destination": .string(destination),
                    "params": ["round": .int(round)], "blocking": true, "timeout": .double(timeout),
                ], timeout: timeout + 5)
            } catch {
                print("unreachable: \(url) (\(error)); is `syft-proxy serve` running there?")
                throw ExitCode(2)
            }
            let milliseconds = Date().timeIntervalSince(started) * 1000
            guard answer.status == 200, answer.json?["status"]?.stringValue == "completed",
                answer.json?["result"]?["echo"]?["round"]?.intValue == round
            else {
                print("round \(round) failed: HTTP \(answer.status) \(answer.text)")
                throw ExitCode(1)
            }
            latencies.append(milliseconds)
            print(String(format: "round %d: completed in %.2f ms (replica %@)", round, milliseconds, answer.replica ?? "?"))
        }
        let sorted = latencies.sorted()
        print(String(format: "ok: %d round trips, median %.2f ms, max %.2f ms", count, sorted[sorted.count / 2], sorted[sorted.count - 1]))
    }
}

struct ResponderError: Error, CustomStringConvertible {
    let message: String
    var description: String { "test responder: \(message)" }
}
