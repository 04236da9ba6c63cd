import Foundation
import Testing
import SyftProxyCore
import SyftProxyTestSupport

/// The push policy applies to the addresses a name resolves to when a delivery connects,
/// not only to addresses written into the URL.
@Suite(.serialized) struct PushPolicyEndToEndTests {
    @Test func aNameResolvingIntoADeniedNetworkFailsTheDeliverySayingWhy() async throws {
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_PUSH_DENY_NETWORKS": "127.0.0.0/8,::1/128"])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let app = try await PushResponder { _ in (.ok, #"{"result":"should not be reached"}"#) }
        defer { Task { await app.stop() } }
        let registered = try await http.put("/rpc/apps/local/endpoint", ["destination": "bob@example.com", "url": .string("http://localhost:\(app.port)/rpc")])
        #expect(registered.status == 200, "a name is checked when it is connected to, not at registration: \(registered.text)")
        let sent = try await http.post("/rpc/send", ["app_name": "local", "func_name": "f", "destination": "bob@example.com", "timeout": 20])
        let id = try #require(sent.json?["id"]?.stringValue)
        let status = try await waitForStatus(http, id: id, within: 5, until: isFinal)
        #expect(status?["status"] == "failed", "\(status?.compactString ?? "no status")")
        let error = status?["error"]?.stringValue ?? ""
        #expect(error.contains("127.0.0.0/8") || error.contains("::1/128"), "the error names no network: \(error)")
        #expect(error.contains("PROXY_PUSH_DENY_NETWORKS"), "the error names no setting: \(error)")
        #expect(app.deliveries.isEmpty)
    }

    @Test func aLiteralAddressInADeniedNetworkIsRefusedAtRegistration() async throws {
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_PUSH_DENY_NETWORKS": "10.0.0.0/8"])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        let refused = try await http.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "http://10.1.2.3:9000/rpc"])
        #expect(refused.status == 422)
        #expect(refused.text.contains("10.0.0.0/8"), "\(refused.text)")
        #expect(refused.text.contains("PROXY_PUSH_DENY_NETWORKS"), "\(refused.text)")
        // The defaults still apply next to an operator's own list.
        #expect(try await http.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "http://169.254.169.254/"]).status == 422)
        #expect(try await http.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "http://192.168.0.10:9000/rpc"]).status == 200)
    }

    @Test func anAllowEntryCarvesAnExceptionOutOfTheDefaults() async throws {
        let proxy = try await ProxyProcess.launch(environment: ["PROXY_PUSH_ALLOW_NETWORKS": "169.254.10.0/24"])
        defer { proxy.stop() }
        let http = HTTP(baseURL: proxy.baseURL)
        #expect(try await http.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "http://169.254.10.7:9000/rpc"]).status == 200)
        #expect(try await http.put("/rpc/apps/calculator/endpoint", ["destination": "bob@example.com", "url": "http://169.254.169.254/"]).status == 422)
    }
}
