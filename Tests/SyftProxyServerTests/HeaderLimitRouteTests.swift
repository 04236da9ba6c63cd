import HummingbirdTesting
import Testing
import SyftProxyCore
import SyftProxyServer

/// Request headers are copied into every request a broadcast creates, so their size is capped.
@Suite struct HeaderLimitRouteTests {
    @Test func tooManyHeadersRejectTheBroadcastNamingTheField() async throws {
        try await withProxy { (client: any TestClientProtocol, environment: ProxyEnvironment) async throws in
            let headers = JSONObject((0...Validation.maximumHeaderCount).map { .init(key: "X-H\($0)", value: "v") })
            let sent = try await client.post("/rpc/broadcast", ["func_name": "notify", "headers": .object(headers), "destinations": ["syft://a@x.com/app_data/n/rpc/f"]])
            #expect(sent.status == .unprocessableContent)
            #expect(sent.json?["detail"]?.arrayValue?.first?["loc"] == ["body", "headers"])
            #expect(try await environment.store.stats().queuedForPull == 0)
        }
    }
}
