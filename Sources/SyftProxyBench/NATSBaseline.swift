import NIOCore
import SyftProxyCore
import SyftProxyTestSupport

extension RunCommand {
    /// NATS request-reply on a local nats-server: the broker built for round trips, as the
    /// anchor for the proxy's WebSocket and push round trips. One responder connection and one
    /// requester connection per level, `level` requests in flight on the requester.
    func measureNATS(levels: [Int], seconds: Double, into report: inout Report) async throws {
        guard NATSServerProcess.installedBinary != nil else {
            Swift.print("skipping baseline: NATS request-reply: \(NATSServerProcess.installHint)")
            return
        }
        let server = try await NATSServerProcess.launch()
        defer { server.stop() }
        for level in levels {
            let responder = try await NATSEchoResponder.start(port: server.port, subject: "bench.echo")
            let requester = try await NATSRequester.connect(port: server.port)
            let cell = await measure(concurrency: level, duration: seconds) { n in
                let payload = ByteBuffer(bytes: natsPayload(n: n))
                let reply = try await requester.request("bench.echo", payload: payload)
                guard reply == payload else {
                    throw BenchError("the NATS reply (\(reply.readableBytes) bytes) is not the request's payload (\(payload.readableBytes) bytes)")
                }
            }
            report.add(scenario: "baseline: NATS request-reply", level: level, cell)
            await requester.close()
            await responder.close()
        }
    }
}

/// About the size of a proxy round trip's params with its call around them, so both carry
/// similar bytes.
func natsPayload(n: Int) -> [UInt8] {
    JSONValue.object(["app_name": "bench-nats", "func_name": "echo", "params": ["n": .int(n)]]).compactBytes
}
