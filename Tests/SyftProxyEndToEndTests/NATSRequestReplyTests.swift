import NIOCore
import SyftProxyTestSupport
import Testing

/// The NATS client the benchmark's request-reply anchor runs on, against a real nats-server
/// (`apt-get install nats-server`; scripts/setup.sh installs it).
@Suite struct NATSRequestReplyTests {
    @Test func concurrentRequestsGetTheirOwnReplies() async throws {
        let server = try await NATSServerProcess.launch()
        defer { server.stop() }
        let responder = try await NATSEchoResponder.start(port: server.port, subject: "test.echo")
        let requester = try await NATSRequester.connect(port: server.port)
        let replies = try await withThrowingTaskGroup(of: (Int, String).self) { group in
            for n in 0..<200 {
                group.addTask {
                    let reply = try await requester.request("test.echo", payload: ByteBuffer(string: #"{"n":\#(n)}"#), timeout: .seconds(10))
                    return (n, String(buffer: reply))
                }
            }
            var replies: [Int: String] = [:]
            for try await (n, reply) in group { replies[n] = reply }
            return replies
        }
        #expect(replies.count == 200)
        for n in 0..<200 { #expect(replies[n] == #"{"n":\#(n)}"#) }
        await requester.close()
        await responder.close()
    }

    @Test func requestWithoutResponderTimesOut() async throws {
        let server = try await NATSServerProcess.launch()
        defer { server.stop() }
        let requester = try await NATSRequester.connect(port: server.port)
        let error = await #expect(throws: NATSError.self) {
            try await requester.request("nobody.listens", payload: ByteBuffer(string: "x"), timeout: .milliseconds(300))
        }
        await requester.close()
        guard case .timedOut? = error else {
            Issue.record("expected a timeout, got \(String(describing: error))")
            return
        }
    }

    @Test func requestsFailWhenTheServerGoes() async throws {
        let server = try await NATSServerProcess.launch()
        let requester = try await NATSRequester.connect(port: server.port)
        let waiting = Task { try await requester.request("nobody.listens", payload: ByteBuffer(string: "x"), timeout: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(100))
        server.stop()
        let error = await #expect(throws: NATSError.self) { try await waiting.value }
        await requester.close()
        guard case .connectionClosed? = error else {
            Issue.record("expected the closed connection as the reason, got \(String(describing: error))")
            return
        }
    }
}
