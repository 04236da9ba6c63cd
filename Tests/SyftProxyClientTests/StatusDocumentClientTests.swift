import Hummingbird
import SyftProxyClient
import SyftProxyCore
import SyftProxyTestSupport
import Testing

/// The client reads the server's status document through the same type the server writes it
/// with: every member arrives, and a document of another shape is an error, not a status that
/// is never final.
@Suite struct StatusDocumentClientTests {
    @Test func theClientSeesEveryMemberTheServerWrites() async throws {
        let written = RPCStatusDocument(
            id: "r1", appName: "calculator", funcName: "add", destination: "bob@example.com", sender: "alice@example.com",
            state: .completed, result: ["sum": 3], error: nil, createdAt: 1_800_000_000.25, updatedAt: 1_800_000_001.5,
            completedAt: 1_800_000_001.5, attempts: 2)
        let server = try await LoopbackServer.start { router in
            router.get("/rpc/status/:id") { _, _ in jsonResponse(written.json) }
        }
        defer { Task { await server.stop() } }
        let status = try await ProxyClient(urls: [server.baseURL]).status("r1")
        #expect(status.document == written)
        #expect(status.state.isFinal && status.completedAt == 1_800_000_001.5)
        #expect(try status.value() == ["sum": 3])
    }

    @Test func aStatusOutsideTheFourStatesIsAnError() async throws {
        var object = RPCStatusDocument(
            id: "r1", appName: "a", funcName: "f", destination: "bob@example.com", sender: nil, state: .pending,
            result: nil, error: nil, createdAt: 1_800_000_000, updatedAt: 1_800_000_000, completedAt: nil, attempts: 0
        ).json.objectValue ?? [:]
        object["status"] = "finished"
        let document = JSONValue.object(object)
        let server = try await LoopbackServer.start { router in
            router.get("/rpc/status/:id") { _, _ in jsonResponse(document) }
        }
        defer { Task { await server.stop() } }
        await #expect {
            try await ProxyClient(urls: [server.baseURL]).status("r1")
        } throws: { error in
            "\(error)".contains("status 'finished' is none of")
        }
    }
}
